# gateway_tls: the loopback rule, the listen decision, bounded PEM loading, MHD options.
ledger_unit_test(gateway_tls_test gateway_tls_test.c ledger_gateway PkgConfig::MHD)
