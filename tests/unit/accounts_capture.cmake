# accounts_capture: authorise, capture, void and expiry (issue 21; accounts_capture.h).
ledger_unit_test(accounts_capture_test accounts_capture_test.c ledger_accounts)
