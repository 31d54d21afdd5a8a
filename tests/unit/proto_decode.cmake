# proto_decode: strict decoding: key sets, value rules on the wire, random input.
# The tests build raw msgpack frames themselves, so they use msgpack-c directly too.
ledger_unit_test(proto_decode_test proto_decode_test.c ledger_proto)
target_link_libraries(proto_decode_test PRIVATE PkgConfig::MSGPACK)
