# store: the ledger's verify walk (store_verify.c). Links LMDB directly too, for the raw writes of store_fixture.h.
ledger_unit_test(store_verify_test store_verify_test.c ledger_store)
target_link_libraries(store_verify_test PRIVATE PkgConfig::LMDB)
