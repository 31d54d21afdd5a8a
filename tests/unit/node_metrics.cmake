# node_metrics: histogram and HTTP counter helpers behind /metrics (nodes/common).
ledger_unit_test(node_metrics_test node_metrics_test.c ledger_node)
