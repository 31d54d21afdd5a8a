# store: seen message ids (store_seen.c). Links LMDB directly too, for the raw writes of store_fixture.h.
ledger_unit_test(store_seen_test store_seen_test.c ledger_store)
target_link_libraries(store_seen_test PRIVATE PkgConfig::LMDB)
