import { describe, it, expect } from 'vitest';
import {
  initialState, applyEvent, applySnapshot, addOptimistic, updateOptimistic, removeOptimistic,
  reconcileOptimistic, transferList, mergeTransfer, localId, isFinal, relatedToRefresh,
} from './events.js';

const T0 = Date.parse('2026-11-25T01:00:00.000Z');
const iso = (ms) => new Date(ms).toISOString();
const step = (name, node, ms, extra = {}) => ({ step: name, node, message_id: `${node}/${ms}`, cause: '', ts_ms: ms, at: iso(ms), ...extra });

function view(id, status, { t = T0, steps = null, reason = null, from = 'alice', to = 'bob', amount = 1250 } = {}) {
  const timeline = steps || [step('transfer.requested', 'gateway', t)];
  const last = timeline[timeline.length - 1].ts_ms;
  return {
    id, from, to, amount, currency: 'GBP', reference: '', status, held: status === 'pending', reason,
    created_at: iso(t), updated_at: iso(last), timeline,
  };
}
const settledSteps = (t) => [
  step('transfer.requested', 'gateway', t), step('funds.reserved', 'accounts', t + 5),
  step('fraud.approved', 'fraud', t + 8, { rules: [] }), step('transfer.settled', 'accounts', t + 10),
];
const ev = (seq, type, transfer) => ({ seq, type, node: 'gateway', at: transfer.updated_at, transfer });

describe('applyEvent', () => {
  it('adds transfers and orders them newest first', () => {
    let s = initialState();
    s = applyEvent(s, ev(1, 'transfer.requested', view('tr_a', 'pending', { t: T0 })));
    s = applyEvent(s, ev(2, 'transfer.requested', view('tr_c', 'pending', { t: T0 + 2000 })));
    s = applyEvent(s, ev(3, 'transfer.requested', view('tr_b', 'pending', { t: T0 + 1000 })));
    expect(s.order).toEqual(['tr_c', 'tr_b', 'tr_a']);
    expect(s.lastSeq).toBe(3);
    expect(transferList(s).map((t) => t.id)).toEqual(['tr_c', 'tr_b', 'tr_a']);
  });

  it('orders transfers created in the same millisecond by id', () => {
    let s = initialState();
    s = applyEvent(s, ev(1, 'transfer.requested', view('tr_01', 'pending')));
    s = applyEvent(s, ev(2, 'transfer.requested', view('tr_02', 'pending')));
    expect(s.order).toEqual(['tr_02', 'tr_01']);
  });

  it('a replayed event changes nothing', () => {
    let s = initialState();
    const e1 = ev(1, 'transfer.requested', view('tr_a', 'pending'));
    const e2 = ev(2, 'transfer.settled', view('tr_a', 'settled', { steps: settledSteps(T0) }));
    s = applyEvent(applyEvent(s, e1), e2);
    const before = s;
    expect(applyEvent(s, e2)).toBe(before);
    expect(applyEvent(s, e1)).toBe(before); // the old pending event again: same object, still settled
    expect(s.transfers.tr_a.status).toBe('settled');
  });

  it('moves pending to a final status with the full timeline', () => {
    let s = applyEvent(initialState(), ev(1, 'transfer.requested', view('tr_a', 'pending')));
    expect(s.transfers.tr_a.status).toBe('pending');
    s = applyEvent(s, ev(2, 'funds.reserved', view('tr_a', 'pending', { steps: settledSteps(T0).slice(0, 2) })));
    expect(s.transfers.tr_a.timeline).toHaveLength(2);
    s = applyEvent(s, ev(4, 'transfer.settled', view('tr_a', 'settled', { steps: settledSteps(T0) })));
    expect(s.transfers.tr_a.status).toBe('settled');
    expect(s.transfers.tr_a.timeline.map((x) => x.node)).toEqual(['gateway', 'accounts', 'fraud', 'accounts']);
  });

  it('a final status never reverts, even when older news arrives later', () => {
    const rejected = view('tr_a', 'rejected_fraud', {
      steps: [step('transfer.requested', 'gateway', T0), step('funds.reserved', 'accounts', T0 + 3),
        step('fraud.rejected', 'fraud', T0 + 5, { rules: ['blocklist'] }), step('transfer.rejected_fraud', 'accounts', T0 + 7)],
      reason: { code: 'fraud_rejected', message: 'blocklisted', rules: ['blocklist'] },
    });
    let s = applyEvent(initialState(), ev(5, 'transfer.rejected_fraud', rejected));
    // out of order: an earlier step's event (lower seq) comes after
    s = applyEvent(s, ev(3, 'funds.reserved', view('tr_a', 'pending', { steps: rejected.timeline.slice(0, 2) })));
    expect(s.transfers.tr_a.status).toBe('rejected_fraud');
    expect(s.transfers.tr_a.reason.rules).toEqual(['blocklist']);
    // a stale snapshot from the list endpoint
    s = applySnapshot(s, [view('tr_a', 'pending')]);
    expect(s.transfers.tr_a.status).toBe('rejected_fraud');
    expect(s.transfers.tr_a.timeline).toHaveLength(4);
    // another final status for the same transfer cannot replace the first
    s = applyEvent(s, ev(9, 'transfer.settled', view('tr_a', 'settled', { steps: settledSteps(T0) })));
    expect(s.transfers.tr_a.status).toBe('rejected_fraud');
  });

  it('applies an event after a gateway restart that reuses sequence numbers', () => {
    let s = applyEvent(initialState(), ev(1, 'transfer.requested', view('tr_a', 'pending')));
    s = applyEvent(s, ev(1, 'transfer.requested', view('tr_b', 'pending', { t: T0 + 1 })));
    expect(Object.keys(s.transfers).sort()).toEqual(['tr_a', 'tr_b']);
  });

  it('ignores events without a transfer', () => {
    const s = initialState();
    expect(applyEvent(s, { seq: 1, type: 'transfer.requested' })).toBe(s);
    expect(applyEvent(s, null)).toBe(s);
  });
});

describe('applySnapshot', () => {
  it('merges the list endpoint without duplicates and keeps unchanged state identical', () => {
    let s = applySnapshot(initialState(), [view('tr_b', 'pending', { t: T0 + 1 }), view('tr_a', 'settled', { steps: settledSteps(T0) })]);
    expect(s.order).toEqual(['tr_b', 'tr_a']);
    const same = applySnapshot(s, [view('tr_a', 'settled', { steps: settledSteps(T0) })]);
    expect(same).toBe(s);
  });
});

describe('optimistic entries', () => {
  const body = { from: 'alice', to: 'bob', amount: 1234, reference: 'lunch' };

  it('shows as pending at once, on top', () => {
    let s = applySnapshot(initialState(), [view('tr_old', 'settled', { steps: settledSteps(T0) })]);
    s = addOptimistic(s, { key: 'k1', ...body, now: T0 + 60000 });
    const top = transferList(s)[0];
    expect(top.id).toBe(localId('k1'));
    expect(top.status).toBe('pending');
    expect(top.optimistic).toBe(true);
    expect(top.amount).toBe(1234);
  });

  it('is reconciled with the server id from the 202 answer', () => {
    let s = addOptimistic(initialState(), { key: 'k1', ...body, now: T0 });
    s = reconcileOptimistic(s, 'k1', { id: 'tr_1', status: 'pending', ...body, currency: 'GBP', created_at: iso(T0) });
    expect(s.transfers[localId('k1')]).toBeUndefined();
    expect(s.order).toEqual(['tr_1']);
    expect(s.transfers.tr_1.status).toBe('pending');
    expect(s.transfers.tr_1.key).toBe('k1');
    // then the stream brings it to its end
    s = applyEvent(s, ev(7, 'transfer.settled', view('tr_1', 'settled', { steps: settledSteps(T0) })));
    expect(transferList(s)).toHaveLength(1);
    expect(s.transfers.tr_1.status).toBe('settled');
  });

  it('does not revert a transfer that the stream finished before the 202 arrived', () => {
    let s = addOptimistic(initialState(), { key: 'k1', ...body, now: T0 });
    s = applyEvent(s, ev(3, 'transfer.settled', view('tr_1', 'settled', { steps: settledSteps(T0) })));
    s = reconcileOptimistic(s, 'k1', { id: 'tr_1', status: 'pending', ...body, currency: 'GBP', created_at: iso(T0) });
    expect(transferList(s)).toHaveLength(1);
    expect(s.transfers.tr_1.status).toBe('settled');
    expect(s.transfers.tr_1.timeline).toHaveLength(4);
  });

  it('a replayed 202 (send twice) reconciles to the same single transfer', () => {
    let s = addOptimistic(initialState(), { key: 'k1', ...body, now: T0 });
    const accepted = { id: 'tr_1', status: 'pending', ...body, currency: 'GBP', created_at: iso(T0) };
    s = reconcileOptimistic(s, 'k1', accepted);
    s = applySnapshot(s, [accepted]);
    expect(transferList(s).map((t) => t.id)).toEqual(['tr_1']);
  });

  it('can be marked failed for a retry, or removed when refused', () => {
    let s = addOptimistic(initialState(), { key: 'k1', ...body, now: T0 });
    s = updateOptimistic(s, 'k1', { sending: false, error: 'unreachable', retryable: true });
    expect(s.transfers[localId('k1')].error).toBe('unreachable');
    expect(updateOptimistic(s, 'nope', { error: 'x' })).toBe(s);
    s = removeOptimistic(s, 'k1');
    expect(transferList(s)).toHaveLength(0);
    expect(removeOptimistic(s, 'k1')).toBe(s);
  });
});

describe('mergeTransfer', () => {
  it('prefers the longer timeline between two pending views', () => {
    const a = view('tr_a', 'pending');
    const b = view('tr_a', 'pending', { steps: settledSteps(T0).slice(0, 2) });
    expect(mergeTransfer(a, b).timeline).toHaveLength(2);
    expect(mergeTransfer(b, a)).toBe(b);
  });
  it('knows the final statuses', () => {
    expect(['settled', 'rejected_fraud', 'declined'].every(isFinal)).toBe(true);
    expect(isFinal('pending')).toBe(false);
  });
});

describe('authorisations, voids, expiries and refunds', () => {
  const authSteps = (t) => [
    step('transfer.requested', 'gateway', t), step('funds.reserved', 'accounts', t + 5),
    step('fraud.approved', 'fraud', t + 8, { rules: [] }), step('transfer.authorized', 'accounts', t + 10),
  ];
  it('moves pending -> authorized -> settled and never back', () => {
    let s = applyEvent(initialState(), ev(1, 'transfer.requested', view('tr_a', 'pending')));
    s = applyEvent(s, ev(4, 'transfer.authorized', { ...view('tr_a', 'authorized', { steps: authSteps(T0) }), capture: 'manual' }));
    expect(s.transfers.tr_a.status).toBe('authorized');
    // an older pending view (a late list answer) does not undo the authorisation
    s = applySnapshot(s, [view('tr_a', 'pending', { steps: authSteps(T0).slice(0, 2) })]);
    expect(s.transfers.tr_a.status).toBe('authorized');
    const settled = { ...view('tr_a', 'settled', { steps: [...authSteps(T0), step('transfer.settled', 'accounts', T0 + 30)] }), captured_amount: 600 };
    s = applyEvent(s, ev(6, 'transfer.settled', settled));
    expect(s.transfers.tr_a.status).toBe('settled');
    expect(s.transfers.tr_a.captured_amount).toBe(600);
    s = applySnapshot(s, [view('tr_a', 'authorized', { steps: authSteps(T0) })]);
    expect(s.transfers.tr_a.status).toBe('settled');
  });
  it('voided and expired are final: the first final status stays', () => {
    expect(isFinal('voided')).toBe(true);
    expect(isFinal('expired')).toBe(true);
    expect(isFinal('authorized')).toBe(false);
    let s = applyEvent(initialState(), ev(1, 'transfer.authorized', view('tr_a', 'authorized', { steps: authSteps(T0) })));
    s = applyEvent(s, ev(2, 'transfer.voided', view('tr_a', 'voided', { reason: { code: 'voided', message: 'voided by alice' } })));
    expect(s.transfers.tr_a.status).toBe('voided');
    s = applyEvent(s, ev(3, 'transfer.expired', view('tr_a', 'expired', { steps: [...authSteps(T0), step('transfer.expired', 'accounts', T0 + 99)] })));
    expect(s.transfers.tr_a.status).toBe('voided');
  });
  it('a pending capture shows on the authorised transfer, then the settlement replaces it', () => {
    let s = applyEvent(initialState(), ev(1, 'transfer.authorized', view('tr_a', 'authorized', { steps: authSteps(T0) })));
    s = applySnapshot(s, [{ ...view('tr_a', 'authorized', { steps: authSteps(T0) }), pending_action: 'capture' }]);
    expect(s.transfers.tr_a.pending_action).toBe('capture');
  });
  it('a settled transfer takes its new refunded_amount and refunds without a status change', () => {
    const settled = view('tr_a', 'settled', { steps: settledSteps(T0) });
    let s = applySnapshot(initialState(), [{ ...settled, refunded_amount: 0, refunds: [] }]);
    const before = s;
    s = applySnapshot(s, [{ ...settled, refunded_amount: 200, refunds: ['tr_r'] }]);
    expect(s).not.toBe(before);
    expect(s.transfers.tr_a.refunded_amount).toBe(200);
    expect(s.transfers.tr_a.refunds).toEqual(['tr_r']);
    expect(applySnapshot(s, [{ ...settled, refunded_amount: 200, refunds: ['tr_r'] }])).toBe(s);
  });
  it('a refund reaching a final status names its original for a refetch, if shown', () => {
    const s = applySnapshot(initialState(), [view('tr_a', 'settled', { steps: settledSteps(T0) })]);
    const refund = { ...view('tr_r', 'settled', { from: 'bob', to: 'alice', steps: settledSteps(T0 + 50) }), kind: 'refund', refund_of: 'tr_a' };
    expect(relatedToRefresh(s, ev(9, 'transfer.settled', refund))).toBe('tr_a');
    expect(relatedToRefresh(s, ev(8, 'transfer.requested', { ...refund, status: 'pending' }))).toBe(null);
    expect(relatedToRefresh(s, ev(9, 'transfer.settled', { ...refund, refund_of: 'tr_unknown' }))).toBe(null);
    expect(relatedToRefresh(s, ev(9, 'transfer.settled', view('tr_b', 'settled')))).toBe(null);
  });
});
