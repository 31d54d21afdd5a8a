# accounts_refund: refunds and the risk timeout (issue 21; accounts_refund.h, accounts_timers.h).
ledger_unit_test(accounts_refund_test accounts_refund_test.c ledger_accounts)
