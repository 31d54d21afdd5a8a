# accounts_migrate: the accounts node's store formats and migration 1 -> 2.
# Links LMDB directly too: format-1 ledgers are planted with raw writes (test_ledger_v1.h).
ledger_unit_test(accounts_migrate_test accounts_migrate_test.c ledger_accounts)
target_link_libraries(accounts_migrate_test PRIVATE PkgConfig::LMDB)
