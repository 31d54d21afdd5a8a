# node_log: level names and the minimum level (nodes/common).
ledger_unit_test(node_log_test node_log_test.c ledger_node)
