# gateway_budget: the global budget of buffered request body bytes (take, give, refuse, threads).
ledger_unit_test(gateway_budget_test gateway_budget_test.c ledger_gateway)
