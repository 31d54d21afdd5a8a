# gateway_owners: the owner map and the per-principal transfer index over a real store.
ledger_unit_test(gateway_owners_test gateway_owners_test.c ledger_gateway)
