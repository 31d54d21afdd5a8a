# gateway_principals (records, keys, hashes over a real store), gateway_ratelimit (the token
# bucket, injected clock) and gateway_auth (cache, buckets, revocation, stream tokens).
ledger_unit_test(gateway_principals_test gateway_principals_test.c ledger_gateway PkgConfig::SODIUM)
ledger_unit_test(gateway_ratelimit_test gateway_ratelimit_test.c ledger_gateway)
ledger_unit_test(gateway_auth_test gateway_auth_test.c ledger_gateway PkgConfig::SODIUM)
