# tools/reconcile: how one transfer's three sides are classified (reconcile_check.c).
ledger_unit_test(reconcile_check_test reconcile_check_test.c ledger_reconcile)
