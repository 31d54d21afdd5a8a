ledger_unit_test(gateway_test gateway_test.c ledger_gateway PkgConfig::CZMQ)
