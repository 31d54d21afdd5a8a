# store: the environment, transactions, map growth and key/value (store.c, store_kv.c).
# Each store test links LMDB directly too, for the raw writes of store_fixture.h.
ledger_unit_test(store_test store_test.c ledger_store)
target_link_libraries(store_test PRIVATE PkgConfig::LMDB Threads::Threads)
