ledger_unit_test(sha256_test sha256_test.c ledger_core PkgConfig::SODIUM)
