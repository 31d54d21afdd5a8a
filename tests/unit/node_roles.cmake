# node_roles: the role table, checked exhaustively against an independent list (nodes/common).
ledger_unit_test(node_roles_test node_roles_test.c ledger_node_roles)
