# harness: ledger-harness's endpoints, message files and encoding (tools/harness), and its
# CURVE key and sockets against a loopback CURVE ROUTER with zauth (harness_sock).
if(TARGET ledger_harness)
  ledger_unit_test(harness_test harness_test.c ledger_harness)
  ledger_unit_test(harness_sock_test harness_sock_test.c ledger_harness_sock)
endif()
