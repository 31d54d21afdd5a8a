// owners.js: what the signed-in principal may do with the accounts it sees.
//
// The gateway decides (403 forbidden_account for a transfer from an account
// the caller does not own); the page only offers what will be accepted, so a
// customer never picks someone else's account as "From". Pure functions.

/** True for the settlement account of a currency (the outside world's side; nobody's). */
export function isSettlement(account) {
  return !!(account && (account.settlement || account.funding));
}

/**
 * True if `principal` owns `account`: its `owner`; an account listed without
 * one is its id's principal's (the upgrade rule of the accounts node).
 */
export function ownedBy(account, principal) {
  if (!account || !principal || isSettlement(account)) return false;
  return (account.owner ?? account.id) === principal;
}

/** The accounts `principal` may send from, in the order given. */
export function sendableAccounts(accounts, principal) {
  return (accounts || []).filter((a) => ownedBy(a, principal));
}

/**
 * Who can be paid: every customer account the page sees and every demo
 * customer it holds a key of (their accounts carry their names), without
 * the settlement account and the operator.
 */
export function payees(accounts, principals) {
  const ids = new Set((accounts || []).filter((a) => !isSettlement(a)).map((a) => a.id));
  for (const p of principals || []) if (p !== 'operator') ids.add(p);
  return [...ids].sort();
}

/** What a transfer is, for a label: "deposit", "withdrawal" or "transfer". */
export function transferKind(t) {
  return (t && t.kind) || 'transfer';
}
