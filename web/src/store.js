// store.js: the page's live state. Talks to the gateway (lib/api.js), folds
// answers and stream events into the transfer state (lib/events.js), and
// keeps the accounts fresh. Everything that decides something lives in lib/.
import { reactive, shallowRef, computed, ref } from 'vue';
import {
  ApiError, getAccounts, listTransfers, getTransfer, getStreamToken, postTransfer, postDeposit, newIdempotencyKey, setApiKey,
  UNREACHABLE, getCurrencies, getAccountsAs, getAccountWithHolds, postTransferAction, patchAccount,
} from './lib/api.js';
import { signInFromLocation, writeSession } from './lib/session.js';
import {
  initialState, applyEvent, applySnapshot, addOptimistic, updateOptimistic,
  removeOptimistic, reconcileOptimistic, transferList, localId, relatedToRefresh,
} from './lib/events.js';
import { currencyTable, legacyCurrencies, exponentOf } from './lib/currencies.js';
import { formatMoney, parseAmount } from './lib/money.js';
import { mergeAccounts } from './lib/owners.js';

export const transfersState = shallowRef(initialState());
export const transfers = computed(() => transferList(transfersState.value));

export const ui = reactive({
  accounts: [],
  accountsLoaded: false,
  accountsError: null,
  stream: 'connecting', // connecting | live | reconnecting
  streamDetail: '',
  selectedId: null,
  notes: [], // [{id, kind: 'info'|'error'|'success', text}]
  principals: [], // the names the page holds keys of (lib/session.js)
  principal: null, // the one it speaks as
  currencies: null, // {code: {code, exponent, name}} from GET /api/currencies (lib/currencies.js)
  directory: [], // every account the page's keys can see: the payees of the transfer form
  expanded: null, // the account whose holds and statement are open
  holds: {}, // account id -> {loading, holds, next, error}
});

/** Now, in ms, ticking every second: the authorisations' countdowns. */
export const clock = ref(Date.now());
let clockTimer = null;
export function startClock() {
  clearInterval(clockTimer);
  clockTimer = setInterval(() => { clock.value = Date.now(); }, 1000);
}

// --- money by currency --------------------------------------------------------------
/** The exponent of `currency` from the gateway's table (null until it came, or if unknown). */
export const exponent = (currency) => exponentOf(ui.currencies, currency || 'GBP');
/** Integer minor units as text in `currency` ("—" while its exponent is unknown). */
export const fmt = (minor, currency) => formatMoney(minor, currency || 'GBP', exponent(currency));
/** A transfer's amount: by the table, else the gateway's own amount_text with the code. */
export function fmtTransfer(t) {
  const text = fmt(t.amount, t.currency);
  return text === '—' && typeof t.amount_text === 'string' && t.amount_text ? `${t.amount_text} ${t.currency}` : text;
}
/** An amount typed in `currency`: {ok, minor} or {ok:false, error} (lib/money.js). */
export const parseIn = (text, currency) => parseAmount(text, exponent(currency), currency || 'GBP');

let currenciesTimer = null;
/** Loads the currency table once (a gateway without the route: GBP only); retries while it fails. */
export async function refreshCurrencies() {
  clearTimeout(currenciesTimer);
  try {
    const answer = await getCurrencies();
    ui.currencies = answer === null ? legacyCurrencies() : (currencyTable(answer) || legacyCurrencies());
  } catch (e) {
    // the gateway is away or busy: again in a moment (a refused key waits for a sign-in)
    if (!(e instanceof ApiError) || e.retryable) currenciesTimer = setTimeout(refreshCurrencies, 3000);
  }
}

/**
 * The accounts every key of the page can see (the operator's key sees all),
 * for the form's payees: a customer sees only its own accounts, but pays
 * others'. Ids, names and currencies only are used.
 */
export async function refreshDirectory() {
  const keys = session.keys.operator ? [session.keys.operator] : Object.values(session.keys);
  const lists = await Promise.all(keys.map((k) => getAccountsAs(k).catch(() => [])));
  ui.directory = mergeAccounts(...lists).map(({ id, name, currency, owner, settlement, funding }) => ({ id, name, currency, owner, settlement, funding }));
}

// --- who the page speaks as ------------------------------------------------------
let session = { keys: {}, current: null };

/** Reads the sign-in link (or the stored session) once, at start. */
export function initSession() {
  session = signInFromLocation(window.location, window.history, window.sessionStorage);
  ui.principals = Object.keys(session.keys);
  ui.principal = session.current;
  setApiKey(session.keys[session.current]);
}

/** The API key the page holds for principal `name` (a demo customer), or null. */
export function keyOf(name) {
  return session.keys[name] || null;
}

/** Speaks as `name` from now on: everything shown is fetched again with its key. */
export function switchPrincipal(name) {
  if (!session.keys[name]) return;
  session = { ...session, current: name };
  writeSession(window.sessionStorage, session);
  ui.principal = name;
  setApiKey(session.keys[name]);
  set(initialState());
  ui.selectedId = null;
  ui.expanded = null;
  ui.holds = {};
  refreshAccounts();
  refreshTransfers();
  connectStream();
}

const requests = new Map(); // idempotency key -> request body, for retries

let noteSeq = 0;
export function note(kind, text, ttlMs = 0) {
  const id = ++noteSeq;
  ui.notes.unshift({ id, kind, text });
  if (ui.notes.length > 4) ui.notes.length = 4;
  if (ttlMs > 0) setTimeout(() => dismissNote(id), ttlMs);
  return id;
}
export function dismissNote(id) {
  const i = ui.notes.findIndex((n) => n.id === id);
  if (i >= 0) ui.notes.splice(i, 1);
}

function set(next) {
  if (next !== transfersState.value) transfersState.value = next;
}

// --- accounts ---------------------------------------------------------------
let accountsTimer = null;
let accountsInFlight = null;
export async function refreshAccounts() {
  if (accountsInFlight) return accountsInFlight;
  accountsInFlight = (async () => {
    try {
      ui.accounts = await getAccounts();
      ui.accountsLoaded = true;
      ui.accountsError = null;
      if (ui.expanded) refreshHolds(ui.expanded);
    } catch (e) {
      ui.accountsError = e instanceof ApiError ? e.message : UNREACHABLE;
    } finally {
      accountsInFlight = null;
    }
  })();
  return accountsInFlight;
}
/** Many events arrive together: refetch the accounts once they settle down. */
export function refreshAccountsSoon(delayMs = 150) {
  clearTimeout(accountsTimer);
  accountsTimer = setTimeout(refreshAccounts, delayMs);
}

/** Opens (or closes) an account's holds and statement; the holds are fetched (expand=holds). */
export function toggleAccount(id) {
  ui.expanded = ui.expanded === id ? null : id;
  if (ui.expanded) refreshHolds(id);
}

export async function refreshHolds(id) {
  const had = ui.holds[id];
  ui.holds[id] = { holds: had ? had.holds : [], next: had ? had.next : null, error: null, loading: true };
  try {
    const a = await getAccountWithHolds(id);
    ui.holds[id] = { holds: Array.isArray(a.holds) ? a.holds : [], next: a.holds_next || null, error: null, loading: false };
  } catch (e) {
    ui.holds[id] = { holds: [], next: null, error: e instanceof ApiError ? e.message : UNREACHABLE, loading: false };
  }
}

/** The operator changes an account's status or overdraft (PATCH). Resolves to {ok, account?, error?}. */
export async function manageAccount(id, body) {
  try {
    const account = await patchAccount(id, body);
    refreshAccounts();
    return { ok: true, account };
  } catch (e) {
    return { ok: false, error: e instanceof ApiError ? e : new ApiError({ kind: 'network', message: UNREACHABLE }) };
  }
}

/** Fetches one transfer again (an original whose refund just ended). */
async function refreshTransfer(id) {
  try { set(applySnapshot(transfersState.value, [await getTransfer(id)])); } catch { /* shown as it was */ }
}

export async function refreshTransfers() {
  try {
    set(applySnapshot(transfersState.value, await listTransfers(100)));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}

export async function refreshSelected() {
  const id = ui.selectedId;
  if (!id || id.startsWith('local:')) return;
  try { set(applySnapshot(transfersState.value, [await getTransfer(id)])); } catch { /* shown from the list */ }
}

// --- the event stream ----------------------------------------------------------
let source = null;
let retryTimer = null;
let retryDelay = 1000;
let everOpen = false;

let streamGeneration = 0;

/** Retries connectStream after a backoff (the stream was refused or its token could not be had). */
function retryStream(detail) {
  ui.stream = 'reconnecting';
  ui.streamDetail = detail;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connectStream, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 15000);
}

/**
 * Opens GET /api/events with a fresh one-use stream token (EventSource cannot
 * send the API key as a header). A token is good once: every reconnect asks
 * for a new one.
 */
export async function connectStream() {
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
  const generation = ++streamGeneration;
  if (typeof EventSource === 'undefined') { ui.stream = 'reconnecting'; ui.streamDetail = 'this browser has no EventSource'; return; }
  if (ui.stream !== 'live') ui.stream = everOpen ? 'reconnecting' : 'connecting';
  let token;
  try {
    token = await getStreamToken();
  } catch (e) {
    if (generation === streamGeneration) retryStream(e instanceof ApiError ? e.message : UNREACHABLE);
    return;
  }
  if (generation !== streamGeneration) return; // another connect (a principal switch) won
  const es = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  source = es;
  es.onopen = () => {
    if (source !== es) return;
    ui.stream = 'live';
    ui.streamDetail = '';
    retryDelay = 1000;
    everOpen = true;
    // catch up with whatever happened while we were away
    if (ui.directory.length === 0) refreshDirectory();
    if (!ui.currencies) refreshCurrencies();
    refreshAccounts();
    refreshTransfers();
    refreshSelected();
  };
  es.addEventListener('transfer', (msg) => {
    let ev;
    try { ev = JSON.parse(msg.data); } catch { return; }
    if (ev && ev.seq === undefined && msg.lastEventId) ev.seq = Number(msg.lastEventId);
    const related = relatedToRefresh(transfersState.value, ev);
    set(applyEvent(transfersState.value, ev));
    if (related) refreshTransfer(related);
    refreshAccountsSoon();
  });
  // the gateway could not resume from our Last-Event-ID (events pruned, data
  // reset): reload the state from the API; the events that follow are complete
  es.addEventListener('reset', () => {
    refreshAccounts();
    refreshTransfers();
    refreshSelected();
  });
  es.onerror = () => {
    if (source !== es) return;
    ui.stream = 'reconnecting';
    if (es.readyState === EventSource.CLOSED) {
      // the gateway answered but refused the stream (503 too_many_streams, or 401
      // for a token already used by the browser's own reconnect): the browser gives
      // up on its own, so try again with a new token after a backoff
      retryStream('the gateway refused the live stream; trying again');
    } else {
      // the browser reconnects by itself, with the used token: close and start over
      es.close();
      if (source === es) retryStream('connection to the gateway lost; reconnecting');
    }
  };
}

// While the stream is down, poll so that the page still moves (and catches up).
let pollTimer = null;
export function startFallbackPolling(everyMs = 3000) {
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    if (ui.stream === 'live') return;
    refreshTransfers();
    refreshAccounts();
    refreshSelected();
  }, everyMs);
}

export function disconnectStream() {
  clearInterval(pollTimer);
  clearTimeout(retryTimer);
  if (source) source.close();
  source = null;
}

// --- sending transfers ------------------------------------------------------------
/**
 * Sends a request with its Idempotency-Key. The optimistic entry shows at
 * once; a network error keeps it with a retry button that reuses the key.
 * Resolves to {ok, transfer?, replayed?, error?}.
 */
export async function send(key) {
  const body = requests.get(key);
  if (!body) return { ok: false };
  set(updateOptimistic(transfersState.value, key, { sending: true, error: null, retryable: false }));
  try {
    const { transfer, replayed } = await postTransfer(body, key);
    set(reconcileOptimistic(transfersState.value, key, transfer));
    if (ui.selectedId === localId(key)) ui.selectedId = transfer.id;
    requests.delete(key);
    refreshAccountsSoon(50);
    return { ok: true, transfer, replayed };
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError({ kind: 'network', message: UNREACHABLE });
    if (err.retryable) {
      set(updateOptimistic(transfersState.value, key, { sending: false, error: err.message, retryable: true }));
    } else {
      set(removeOptimistic(transfersState.value, key));
      if (ui.selectedId === localId(key)) ui.selectedId = null;
      requests.delete(key);
    }
    return { ok: false, error: err };
  }
}

export function submitTransfer(body, { select = true } = {}) {
  const key = newIdempotencyKey();
  requests.set(key, body);
  const { asKey, ...shown } = body; // another principal's key is sent, never kept in the state
  set(addOptimistic(transfersState.value, { key, ...shown }));
  if (select) ui.selectedId = localId(key);
  return { key, result: send(key) };
}

export const retry = (key) => send(key);

export function discard(key) {
  requests.delete(key);
  set(removeOptimistic(transfersState.value, key));
}

/** Posts one request twice with one key; the gateway must answer with one transfer. */
export async function sendTwice(body) {
  const key = newIdempotencyKey();
  requests.set(key, body);
  set(addOptimistic(transfersState.value, { key, ...body }));
  ui.selectedId = localId(key);
  const first = await send(key);
  if (!first.ok) return { ok: false, error: first.error };
  let second;
  try {
    second = await postTransfer(body, key);
  } catch (e) {
    return { ok: false, error: e, first: first.transfer };
  }
  set(applySnapshot(transfersState.value, [{ ...second.transfer }]));
  return { ok: true, first: first.transfer, second: second.transfer, replayed: second.replayed, key };
}

// Idempotency-Keys of actions not yet answered, by "id action": a retry after a
// network error sends the same key (the gateway answers the original again).
const actionKeys = new Map();

/**
 * Capture ({amount?}), void ({}) or refund ({amount?, reference?}) of the
 * transfer `id`. Resolves to {ok, transfer?, error?}; the transfer answered
 * (the original with pending_action, or the new refund) is shown at once.
 */
export async function transferAction(id, action, body) {
  const slot = `${id} ${action} ${JSON.stringify(body || {})}`;
  const key = actionKeys.get(slot) || newIdempotencyKey();
  actionKeys.set(slot, key);
  try {
    const transfer = await postTransferAction(id, action, body, key);
    actionKeys.delete(slot);
    set(applySnapshot(transfersState.value, [{ timeline: [], reason: null, ...transfer }]));
    if (action === 'refunds') refreshTransfer(id);
    refreshAccountsSoon(50);
    return { ok: true, transfer };
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError({ kind: 'network', message: UNREACHABLE });
    if (!err.retryable) actionKeys.delete(slot);
    if (err.code === 'invalid_state') refreshTransfer(id); // it moved on: show where it is
    return { ok: false, error: err };
  }
}

/** An operator's deposit into `account` (POST /api/deposits). Resolves to {ok, transfer?, error?}. */
export async function submitDeposit(body) {
  try {
    const { transfer } = await postDeposit(body, newIdempotencyKey());
    set(applySnapshot(transfersState.value, [transfer]));
    refreshAccountsSoon(50);
    return { ok: true, transfer };
  } catch (e) {
    return { ok: false, error: e instanceof ApiError ? e : new ApiError({ kind: 'network', message: UNREACHABLE }) };
  }
}
