ledger_unit_test(fraud_test fraud_test.c ledger_fraud)
