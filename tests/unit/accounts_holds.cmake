# accounts_holds: the open-holds index (issue 21; accounts_holds.h).
ledger_unit_test(accounts_holds_test accounts_holds_test.c ledger_accounts)
