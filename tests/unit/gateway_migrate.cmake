# gateway_migrate: the gateway store migration 2 -> 3 (scoped idempotency keys), over a real store.
ledger_unit_test(gateway_migrate_test gateway_migrate_test.c ledger_gateway)
