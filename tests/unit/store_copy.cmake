# store: the read-only open, the compacted copy and sequence raise that tools/backup uses.
ledger_unit_test(store_copy_test store_copy_test.c ledger_store)
