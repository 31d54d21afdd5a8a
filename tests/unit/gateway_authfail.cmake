# gateway_authfail: failed authentications throttled per client address; the body budget's
# per-address share.
ledger_unit_test(gateway_authfail_test gateway_authfail_test.c ledger_gateway)
