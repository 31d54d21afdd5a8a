ledger_unit_test(gateway_http_test gateway_http_test.c ledger_gateway PkgConfig::CZMQ)
