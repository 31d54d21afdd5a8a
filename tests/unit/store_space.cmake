# store: room of the map and the disk (store_space.c): the room state, the sample.
ledger_unit_test(store_space_test store_space_test.c ledger_store)
target_link_libraries(store_space_test PRIVATE PkgConfig::LMDB)
