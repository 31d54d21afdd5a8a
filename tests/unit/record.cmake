ledger_unit_test(record_test record_test.c ledger_core)
