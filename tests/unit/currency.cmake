# currency: the ISO 4217 table of core/currency.h, and that every currency in it has a
# settlement account (proto_settlement_id).
ledger_unit_test(currency_test currency_test.c ledger_proto)
