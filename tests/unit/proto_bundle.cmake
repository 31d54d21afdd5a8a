# proto_bundle: several envelopes for one peer in one ZeroMQ message (proto.h "Bundles").
ledger_unit_test(proto_bundle_test proto_bundle_test.c ledger_proto)
