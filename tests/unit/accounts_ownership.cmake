# accounts_ownership: who may move money (forbidden_account), the kinds (invalid_kind),
# deposits and withdrawals through the saga, and the deposit limits.
ledger_unit_test(accounts_ownership_test accounts_ownership_test.c ledger_accounts)
