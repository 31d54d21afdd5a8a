# relay: when an outbox entry is resent (a real store and relay, a ROUTER as the peer).
ledger_unit_test(relay_test relay_test.c ledger_node)
