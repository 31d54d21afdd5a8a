# proto_encode: encoding: round trips of every type, and the frame-size limit on encode.
# The tests build raw msgpack frames themselves, so they use msgpack-c directly too.
ledger_unit_test(proto_encode_test proto_encode_test.c ledger_proto)
target_link_libraries(proto_encode_test PRIVATE PkgConfig::MSGPACK)
