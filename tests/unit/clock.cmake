ledger_unit_test(clock_test clock_test.c ledger_core)
