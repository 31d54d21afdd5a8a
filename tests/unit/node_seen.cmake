# node_seen: the far-ahead bound on a peer's ids, over a real store (nodes/common/node_seen.c).
ledger_unit_test(node_seen_test node_seen_test.c ledger_node)
# node_dedupe: dedupe per origin, the far-ahead bound and harness replays through a real node
# loop with CURVE (keys in a temp dir).
ledger_unit_test(node_dedupe_test node_dedupe_test.c ledger_node ledger_curve)
