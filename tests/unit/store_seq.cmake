# store: named sequences (store_seq.c). Links LMDB directly too, for the raw writes of store_fixture.h.
ledger_unit_test(store_seq_test store_seq_test.c ledger_store)
target_link_libraries(store_seq_test PRIVATE PkgConfig::LMDB)
