# node: the node loop with a real store and inbox (a refused message leaves no write behind).
ledger_unit_test(node_test node_test.c ledger_node)
