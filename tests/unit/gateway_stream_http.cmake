# gateway_stream over HTTP: GET /api/events against a real gateway_http on loopback.
ledger_unit_test(gateway_stream_http_test gateway_stream_http_test.c ledger_gateway PkgConfig::CZMQ)
