# proto: wire protocol unit tests. The test builds raw msgpack frames itself,
# so it uses msgpack-c directly as well as through ledger_proto.
ledger_unit_test(proto_test proto_test.c ledger_proto)
target_link_libraries(proto_test PRIVATE PkgConfig::MSGPACK)
