# node_monitor: failed handshakes from raw socket monitors, against a real CURVE ROUTER with zauth.
ledger_unit_test(node_monitor_test node_monitor_test.c ledger_node ledger_curve)
