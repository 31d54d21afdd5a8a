# proto_payments: the wire of issue 21 (authorise/capture/void/expire, refunds, account
# controls and history): new types, the transfer body's optional keys, the action body,
# the new query ops and reply keys. The tests edit raw msgpack trees, so msgpack-c too.
ledger_unit_test(proto_payments_test proto_payments_test.c ledger_proto)
target_link_libraries(proto_payments_test PRIVATE PkgConfig::MSGPACK)
