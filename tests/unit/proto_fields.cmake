# proto_fields: the optional keys of a transfer body (principal, kind) and the owner keys.
# The tests build raw msgpack frames themselves, so they use msgpack-c directly too.
ledger_unit_test(proto_fields_test proto_fields_test.c ledger_proto)
target_link_libraries(proto_fields_test PRIVATE PkgConfig::MSGPACK)
