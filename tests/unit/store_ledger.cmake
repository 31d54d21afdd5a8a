# store: the hash-chained ledger (store_ledger.c). Links LMDB directly too, for the raw writes of store_fixture.h.
ledger_unit_test(store_ledger_test store_ledger_test.c ledger_store)
target_link_libraries(store_ledger_test PRIVATE PkgConfig::LMDB)
