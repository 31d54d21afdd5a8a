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

/** An account's currency; one listed without it is GBP (a gateway from before currencies). */
export function accountCurrency(account) {
  return (account && account.currency) || 'GBP';
}

/**
 * Who can be paid in `currency`: every customer account of that currency the
 * page knows of (`accounts`: what the signed-in principal sees plus the
 * directory of the demo's accounts), without the settlement accounts; for GBP
 * also each demo customer the page holds a key of, whose GBP account carries
 * its name (the demo's rule, for a page that could not read the directory).
 */
export function payees(accounts, principals, currency = 'GBP') {
  const ids = new Set((accounts || []).filter((a) => !isSettlement(a) && accountCurrency(a) === currency).map((a) => a.id));
  const known = new Set((accounts || []).map((a) => a.id));
  if (currency === 'GBP') {
    for (const p of principals || []) if (p !== 'operator' && !known.has(p)) ids.add(p);
  }
  return [...ids].sort();
}

/** Accounts by id, the later lists' entries replacing the earlier ones' (for a directory). */
export function mergeAccounts(...lists) {
  const byId = new Map();
  for (const list of lists) for (const a of list || []) if (a && typeof a.id === 'string') byId.set(a.id, a);
  return [...byId.values()];
}

/** What a transfer is, for a label: "deposit", "withdrawal" or "transfer". */
export function transferKind(t) {
  return (t && t.kind) || 'transfer';
}
