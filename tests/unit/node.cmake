# node: the node loop with a real store and inbox (a refused message leaves no write behind).
ledger_unit_test(node_test node_test.c ledger_node)
# node_test writes a corrupt outbox record through the store's LMDB handles (store_raw.h).
target_link_libraries(node_test PRIVATE PkgConfig::LMDB)
