ledger_unit_test(text_test text_test.c ledger_core)
