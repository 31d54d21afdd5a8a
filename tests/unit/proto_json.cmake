# proto_json: structural msgpack <-> JSON conversion (tools, admin views).
ledger_unit_test(proto_json_test proto_json_test.c ledger_proto_json)
