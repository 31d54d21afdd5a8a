# admin_http: the table of node routes (params, body, 204, 405, 413, the admin token), a real
# server on a loopback port over a real node that is not running.
ledger_unit_test(admin_http_test admin_http_test.c ledger_node)
