# gateway_prune: the retention actor, one transaction per kind, and the node's fault state.
ledger_unit_test(gateway_prune_test gateway_prune_test.c ledger_gateway)
