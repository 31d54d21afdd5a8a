# store: the outbox and dead letters (store_outbox.c). Links LMDB directly too, for the raw writes of store_fixture.h.
ledger_unit_test(store_outbox_test store_outbox_test.c ledger_store)
target_link_libraries(store_outbox_test PRIVATE PkgConfig::LMDB)
