# proto_check: proto_validate refuses what proto_decode refuses.
# The tests build raw msgpack frames themselves, so they use msgpack-c directly too.
ledger_unit_test(proto_check_test proto_check_test.c ledger_proto)
target_link_libraries(proto_check_test PRIVATE PkgConfig::MSGPACK)
