# store_migrate: the format version, the migration runner and ledger format 1 -> 2.
# Links LMDB directly too: format-1 records are planted with raw writes.
ledger_unit_test(store_migrate_test store_migrate_test.c ledger_store)
target_link_libraries(store_migrate_test PRIVATE PkgConfig::LMDB)
