# prealloc: the thread that keeps the LMDB data file written ahead of its used end.
ledger_unit_test(prealloc_test prealloc_test.c ledger_store)
target_link_libraries(prealloc_test PRIVATE Threads::Threads)
