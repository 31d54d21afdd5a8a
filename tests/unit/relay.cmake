# relay: when an outbox entry is resent (a real store and relay, a ROUTER as the peer).
ledger_unit_test(relay_test relay_test.c ledger_node)
# relay_test writes a corrupt outbox record through the store's LMDB handles (store_raw.h).
target_link_libraries(relay_test PRIVATE PkgConfig::LMDB)
