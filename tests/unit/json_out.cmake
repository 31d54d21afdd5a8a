ledger_unit_test(json_out_test json_out_test.c ledger_core PkgConfig::JANSSON)
