# admin_metrics: the Prometheus text of /metrics (nodes/common), over a real node that is not running.
ledger_unit_test(admin_metrics_test admin_metrics_test.c ledger_node)
