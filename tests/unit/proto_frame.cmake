# proto_frame: proto_frame_check, the allocation-free msgpack walk before msgpack-c.
# The tests build raw msgpack frames themselves, so they use msgpack-c directly too.
ledger_unit_test(proto_frame_test proto_frame_test.c ledger_proto)
target_link_libraries(proto_frame_test PRIVATE PkgConfig::MSGPACK)
