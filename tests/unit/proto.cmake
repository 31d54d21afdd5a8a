# proto: names, message ids, delivery tags, release and equality (proto.c,
# proto_names.c). The tests build raw msgpack frames themselves (test_proto.h),
# so they use msgpack-c directly as well as through ledger_proto.
ledger_unit_test(proto_test proto_test.c ledger_proto)
target_link_libraries(proto_test PRIVATE PkgConfig::MSGPACK)
