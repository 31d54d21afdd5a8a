# harness: ledger-harness's endpoints, message files and encoding (tools/harness).
if(TARGET ledger_harness)
  ledger_unit_test(harness_test harness_test.c ledger_harness)
endif()
