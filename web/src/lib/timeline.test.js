import { describe, it, expect } from 'vitest';
import { timelineSteps } from './timeline.js';

const s = (step, node, ms, extra = {}) => ({ step, node, message_id: `${node}/${ms}`, cause: '', ts_ms: ms, at: new Date(ms).toISOString(), ...extra });

describe('timelineSteps', () => {
  it('shows gateway -> accounts -> fraud -> accounts -> gateway for a settled transfer', () => {
    const t = { status: 'settled', updated_at: new Date(20).toISOString(), reason: null,
      timeline: [s('transfer.settled', 'accounts', 15), s('transfer.requested', 'gateway', 1), s('funds.reserved', 'accounts', 5), s('fraud.approved', 'fraud', 10, { rules: [] })] };
    expect(timelineSteps(t).map((x) => x.node)).toEqual(['gateway', 'accounts', 'fraud', 'accounts', 'gateway']);
  });
  it('shows the rules that fired and infers a fraud step an older gateway did not report', () => {
    const t = { status: 'rejected_fraud', updated_at: new Date(20).toISOString(),
      reason: { code: 'fraud_rejected', message: 'blocklisted', rules: ['blocklist'] },
      timeline: [s('transfer.requested', 'gateway', 1), s('funds.reserved', 'accounts', 5), s('transfer.rejected_fraud', 'accounts', 15)] };
    const steps = timelineSteps(t);
    expect(steps.map((x) => x.step)).toEqual(['transfer.requested', 'funds.reserved', 'fraud.rejected', 'transfer.rejected_fraud', 'status.shown']);
    expect(steps[2].rules).toEqual(['blocklist']);
    expect(steps[2].inferred).toBe(true);
  });
  it('shows the rules on the fraud step only', () => {
    const t = { status: 'rejected_fraud', updated_at: new Date(20).toISOString(),
      reason: { code: 'fraud_rejected', message: 'over the limit', rules: ['amount_over_threshold'] },
      timeline: [s('transfer.requested', 'gateway', 1), s('funds.reserved', 'accounts', 5),
        s('fraud.rejected', 'fraud', 10, { rules: ['amount_over_threshold'] }),
        s('transfer.rejected_fraud', 'accounts', 15, { rules: ['amount_over_threshold'] })] };
    const steps = timelineSteps(t);
    expect(steps.map((x) => x.rules.length)).toEqual([0, 0, 1, 0, 0]);
    expect(steps[2].inferred).toBe(false);
    expect(steps[2].detail).toBe('over the limit');
  });
  it('adds no final gateway step while pending', () => {
    const t = { status: 'pending', timeline: [s('transfer.requested', 'gateway', 1)] };
    expect(timelineSteps(t)).toHaveLength(1);
  });
});

describe('timelineSteps of authorisations', () => {
  it('shows the authorisation and the capture, with the final status', () => {
    const t = { status: 'settled', updated_at: new Date(40).toISOString(), reason: null,
      timeline: [s('transfer.requested', 'gateway', 1), s('funds.reserved', 'accounts', 5), s('fraud.approved', 'fraud', 8),
        s('transfer.authorized', 'accounts', 10), s('transfer.capture', 'gateway', 20), s('transfer.settled', 'accounts', 30)] };
    const steps = timelineSteps(t);
    expect(steps.map((x) => x.step)).toEqual(['transfer.requested', 'funds.reserved', 'fraud.approved', 'transfer.authorized',
      'transfer.capture', 'transfer.settled', 'status.shown']);
    expect(steps[3].label).toMatch(/Authorised/);
    expect(steps[6].label).toBe('Status: settled');
  });
  it('infers the fraud approval before an authorisation and explains a void', () => {
    const t = { status: 'voided', updated_at: new Date(40).toISOString(), reason: { code: 'voided', message: 'voided by alice' },
      timeline: [s('transfer.requested', 'gateway', 1), s('funds.reserved', 'accounts', 5), s('transfer.authorized', 'accounts', 10),
        s('transfer.void', 'gateway', 20), s('transfer.voided', 'accounts', 30)] };
    const steps = timelineSteps(t);
    expect(steps.map((x) => x.step)).toEqual(['transfer.requested', 'funds.reserved', 'fraud.approved', 'transfer.authorized',
      'transfer.void', 'transfer.voided', 'status.shown']);
    expect(steps[5].detail).toBe('voided by alice');
    expect(steps[6].label).toBe('Status: voided');
  });
  it('an authorised transfer has no final gateway step yet; an expired one has', () => {
    const steps = [s('transfer.requested', 'gateway', 1), s('funds.reserved', 'accounts', 5), s('fraud.approved', 'fraud', 8), s('transfer.authorized', 'accounts', 10)];
    expect(timelineSteps({ status: 'authorized', timeline: steps }).map((x) => x.step).pop()).toBe('transfer.authorized');
    const expired = timelineSteps({ status: 'expired', updated_at: new Date(50).toISOString(), reason: { code: 'expired', message: 'expired' },
      timeline: [...steps, s('transfer.expired', 'accounts', 50)] });
    expect(expired.map((x) => x.label).pop()).toBe('Status: expired');
  });
});
