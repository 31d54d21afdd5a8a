# accounts_cause: the verdict cause rule of issue 19 (accounts_saga.h).
ledger_unit_test(accounts_cause_test accounts_cause_test.c ledger_accounts)
