# curve: key directories (race, modes, mismatches, allow/deny), the User-Id table, and a
# loopback CURVE ROUTER with zauth (curve/).
ledger_unit_test(curve_keys_test curve_keys_test.c ledger_curve)
ledger_unit_test(curve_allow_test curve_allow_test.c ledger_curve)
ledger_unit_test(curve_sock_test curve_sock_test.c ledger_curve)
