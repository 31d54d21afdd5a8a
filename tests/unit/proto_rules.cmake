# proto_rules: the account-id, currency and UTF-8 rules proto exports.
ledger_unit_test(proto_rules_test proto_rules_test.c ledger_proto)
