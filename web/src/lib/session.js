// session.js: which API keys the page holds and which principal it speaks as.
//
// The page never gets keys from a server: scripts/demo.sh prints a sign-in
// link, http://host/#signin=<base64url of {"principal":"lk_...",...}>. The
// fragment after '#' is never sent over the network; the page moves the keys
// into sessionStorage (gone with the tab), removes the fragment from the
// address bar and history, and speaks as one principal at a time (the
// "signed in as" selector). Pure functions over the storage and location
// they are given, so they are tested without a browser.

export const KEY_RE = /^lk_[0-9a-f]{16}_[0-9a-f]{64}$/;
const NAME_RE = /^[a-z0-9_-]{1,64}$/;
const STORAGE_KEY = 'ledger.session';
const SIGNIN_PREFIX = '#signin=';

function base64urlDecode(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

/** {principal: key} from a location hash "#signin=...", or null if it is not a valid one. */
export function decodeSignin(hash) {
  if (typeof hash !== 'string' || !hash.startsWith(SIGNIN_PREFIX)) return null;
  let keys;
  try { keys = JSON.parse(base64urlDecode(hash.slice(SIGNIN_PREFIX.length))); } catch { return null; }
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) return null;
  const out = {};
  for (const [name, key] of Object.entries(keys)) {
    if (NAME_RE.test(name) && typeof key === 'string' && KEY_RE.test(key)) out[name] = key;
  }
  return Object.keys(out).length ? out : null;
}

/** The principal to speak as by default: the operator if there is one, else the first. */
export function defaultPrincipal(keys) {
  const names = Object.keys(keys || {});
  return names.includes('operator') ? 'operator' : (names[0] || null);
}

/** {keys, current} from storage ({keys: {}, current: null} when signed out). */
export function readSession(storage) {
  try {
    const s = JSON.parse(storage.getItem(STORAGE_KEY) || 'null');
    if (s && s.keys && typeof s.keys === 'object') {
      const current = s.keys[s.current] ? s.current : defaultPrincipal(s.keys);
      return { keys: s.keys, current };
    }
  } catch { /* a broken entry is a signed-out page */ }
  return { keys: {}, current: null };
}

export function writeSession(storage, session) {
  storage.setItem(STORAGE_KEY, JSON.stringify({ keys: session.keys, current: session.current }));
}

/**
 * Signs in from location.hash if it carries a sign-in link (then clears the
 * fragment with history.replaceState), else keeps the stored session.
 */
export function signInFromLocation(location, history, storage) {
  const keys = decodeSignin(location.hash);
  if (location.hash && location.hash.startsWith(SIGNIN_PREFIX)) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  if (!keys) return readSession(storage);
  const session = { keys, current: defaultPrincipal(keys) };
  writeSession(storage, session);
  return session;
}
