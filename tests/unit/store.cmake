# store: the LMDB store. Links LMDB directly too, for the raw writes of the tamper tests.
ledger_unit_test(store_test store_test.c ledger_store)
target_link_libraries(store_test PRIVATE PkgConfig::LMDB Threads::Threads)
