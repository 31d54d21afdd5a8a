// events.js: the page's transfer state and the pure functions that fold the
// gateway's answers and its event stream into it. Every function returns a
// new state (or the same object when nothing changes), so Vue can hold it in
// a shallowRef and tests can compare identities.
//
// Rules:
//  - an event already applied (same seq, transfer and step) changes nothing;
//  - statuses only move forward: pending -> authorized -> a final status
//    (settled, rejected_fraud, declined, voided, expired), never back, whatever
//    arrives later or out of order; the first final status stays;
//  - between two views of the same status the more advanced one wins (longer
//    timeline, then later update); a settled transfer still changes when its
//    refunds settle (refunded_amount, refunds), so those fields count too;
//  - an optimistic entry (shown before the gateway answered) is keyed by its
//    Idempotency-Key and replaced by the server's transfer once the 202 comes.

export const FINAL_STATUSES = ['settled', 'rejected_fraud', 'declined', 'voided', 'expired'];
export const isFinal = (status) => FINAL_STATUSES.includes(status);
/** How far a status is along the saga: pending 0, authorized 1, final 2. */
export function statusRank(status) {
  if (isFinal(status)) return 2;
  return status === 'authorized' ? 1 : 0;
}
// Fields of a view that change without its status or timeline changing.
const VIEW_FIELDS = ['held', 'reason', 'refunded_amount', 'refunds', 'captured_amount', 'pending_action', 'expires_at'];
export const LOCAL_PREFIX = 'local:';
const SEEN_LIMIT = 5000;
const KEEP_TRANSFERS = 500;

export function initialState() {
  return { transfers: {}, order: [], seen: [], lastSeq: 0 };
}

function timeOf(v) {
  if (v == null) return 0;
  if (Number.isFinite(v.created_ms)) return v.created_ms;
  const t = Date.parse(v.created_at);
  return Number.isFinite(t) ? t : 0;
}
function updatedOf(v) {
  if (Number.isFinite(v.updated_ms)) return v.updated_ms;
  const t = Date.parse(v.updated_at);
  return Number.isFinite(t) ? t : 0;
}

/** Newest first: creation time, then id (ids are time ordered). */
export function compareTransfers(a, b) {
  const d = timeOf(b) - timeOf(a);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function sortedOrder(transfers) {
  const list = Object.values(transfers).sort(compareTransfers);
  return list.map((t) => t.id);
}

function timelineLength(v) {
  return Array.isArray(v.timeline) ? v.timeline.length : 0;
}

/** Merges what we know about one transfer with a newer report of it. */
export function mergeTransfer(old, incoming) {
  if (!old) return incoming;
  const oldRank = statusRank(old.status);
  const newRank = statusRank(incoming.status);
  let winner;
  if (oldRank !== newRank) winner = newRank > oldRank ? 'new' : 'old';
  else if (oldRank === 2 && old.status !== incoming.status) winner = 'old'; // first final status stays
  else {
    const dl = timelineLength(incoming) - timelineLength(old);
    if (dl !== 0) winner = dl > 0 ? 'new' : 'old';
    else winner = updatedOf(incoming) >= updatedOf(old) ? 'new' : 'old';
  }
  if (winner === 'old') {
    // keep what we have; only fill fields we did not know yet
    let changed = false;
    const out = { ...old };
    for (const k of Object.keys(incoming)) {
      if (out[k] === undefined && incoming[k] !== undefined) { out[k] = incoming[k]; changed = true; }
    }
    if (timelineLength(incoming) > timelineLength(old) && old.status === incoming.status) {
      out.timeline = incoming.timeline; changed = true;
    }
    return changed ? out : old;
  }
  const out = { ...old, ...incoming };
  if (!Array.isArray(incoming.timeline) && Array.isArray(old.timeline)) out.timeline = old.timeline;
  if (timelineLength(old) > timelineLength(out)) out.timeline = old.timeline;
  return sameView(old, out) ? old : out;
}

function sameView(a, b) {
  return a.status === b.status && timelineLength(a) === timelineLength(b) &&
    updatedOf(a) === updatedOf(b) &&
    VIEW_FIELDS.every((k) => JSON.stringify(a[k] ?? null) === JSON.stringify(b[k] ?? null)) &&
    Object.keys(b).every((k) => k in a);
}

function withTransfer(state, view) {
  if (!view || typeof view.id !== 'string') return state;
  const old = state.transfers[view.id];
  const merged = mergeTransfer(old, view);
  if (merged === old) return state;
  let transfers = { ...state.transfers, [view.id]: merged };
  let order = old && timeOf(old) === timeOf(merged) ? state.order : sortedOrder(transfers);
  if (order.length > KEEP_TRANSFERS) {
    for (const id of order.slice(KEEP_TRANSFERS)) delete transfers[id];
    order = order.slice(0, KEEP_TRANSFERS);
  }
  return { ...state, transfers, order };
}

/** A key that names one event: its seq, its transfer and its step. */
export function eventKey(ev) {
  return `${ev.seq}|${ev.transfer && ev.transfer.id}|${ev.type}`;
}

/**
 * Folds one event of the stream ({seq, type, node, at, transfer}) into the
 * state. An event seen before returns the same state object.
 */
export function applyEvent(state, ev) {
  if (!ev || !ev.transfer || typeof ev.transfer.id !== 'string') return state;
  const key = eventKey(ev);
  if (state.seen.includes(key)) return state;
  const next = withTransfer(state, ev.transfer);
  let seen = [...state.seen, key];
  if (seen.length > SEEN_LIMIT) seen = seen.slice(seen.length - SEEN_LIMIT);
  const seq = Number.isFinite(ev.seq) ? ev.seq : Number(ev.seq);
  return { ...next, seen, lastSeq: Number.isFinite(seq) ? Math.max(state.lastSeq, seq) : state.lastSeq };
}

/** Folds a list of transfer views (GET /api/transfers, GET /api/transfers/{id}). */
export function applySnapshot(state, views) {
  let s = state;
  for (const v of views || []) s = withTransfer(s, v);
  return s;
}

export const localId = (key) => LOCAL_PREFIX + key;
export const isLocal = (id) => typeof id === 'string' && id.startsWith(LOCAL_PREFIX);

/**
 * The id of another transfer whose view an event changes: a refund that
 * reached a final status changes its original's refunded_amount, which the
 * page then fetches again (if it shows the original). null if none.
 */
export function relatedToRefresh(state, ev) {
  const t = ev && ev.transfer;
  if (!t || typeof t.refund_of !== 'string' || !t.refund_of || !isFinal(t.status)) return null;
  return state.transfers[t.refund_of] ? t.refund_of : null;
}

/** Shows a transfer as pending before the gateway has answered. */
export function addOptimistic(state, { key, from, to, amount, reference = '', currency = 'GBP', capture, now = Date.now() }) {
  const id = localId(key);
  const at = new Date(now).toISOString();
  const view = {
    id, key, optimistic: true, sending: true, error: null,
    from, to, amount, currency, reference, status: 'pending', held: false, reason: null, capture: capture || 'auto',
    created_ms: now, updated_ms: now, created_at: at, updated_at: at, timeline: [],
  };
  const transfers = { ...state.transfers, [id]: view };
  return { ...state, transfers, order: sortedOrder(transfers) };
}

/** Changes an optimistic entry (sending, error); unknown keys change nothing. */
export function updateOptimistic(state, key, patch) {
  const id = localId(key);
  const old = state.transfers[id];
  if (!old) return state;
  return { ...state, transfers: { ...state.transfers, [id]: { ...old, ...patch } } };
}

/** Drops an optimistic entry (the gateway refused the transfer). */
export function removeOptimistic(state, key) {
  const id = localId(key);
  if (!state.transfers[id]) return state;
  const transfers = { ...state.transfers };
  delete transfers[id];
  return { ...state, transfers, order: state.order.filter((x) => x !== id) };
}

/**
 * The gateway accepted the transfer (202 answer, a pending view with the
 * server's id): the optimistic entry gives way to it. If the stream already
 * brought the transfer further (even final), that stays.
 */
export function reconcileOptimistic(state, key, accepted) {
  const s = removeOptimistic(state, key);
  const view = { timeline: [], held: false, reason: null, ...accepted };
  if (view.updated_at === undefined && view.created_at !== undefined) view.updated_at = view.created_at;
  const merged = withTransfer(s, view);
  const kept = merged.transfers[accepted.id];
  if (kept && kept.key !== key) {
    return { ...merged, transfers: { ...merged.transfers, [accepted.id]: { ...kept, key } } };
  }
  return merged;
}

/** The transfers, newest first. */
export function transferList(state) {
  return state.order.map((id) => state.transfers[id]).filter(Boolean);
}
