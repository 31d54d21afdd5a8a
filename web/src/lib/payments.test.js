import { describe, it, expect } from 'vitest';
import {
  canCaptureOrVoid, canRefund, refundableAmount, settledAmount, expiryCountdown, reasonText, validExpiresIn,
  EXPIRY_CHOICES, EXPIRES_IN_DEFAULT_S,
} from './payments.js';

const accounts = [
  { id: 'alice', owner: 'alice', currency: 'GBP' }, { id: 'alice-eur', owner: 'alice', currency: 'EUR' },
  { id: 'bob', owner: 'bob', currency: 'GBP' },
];
const authorized = { id: 'tr_1', from: 'alice', to: 'bob', amount: 1000, status: 'authorized', kind: 'transfer', capture: 'manual' };
const settled = { id: 'tr_2', from: 'alice', to: 'bob', amount: 1000, status: 'settled', kind: 'transfer' };

describe('canCaptureOrVoid', () => {
  it('is for the owner of from, or an operator, while authorised', () => {
    expect(canCaptureOrVoid(authorized, 'alice', accounts)).toBe(true);
    expect(canCaptureOrVoid(authorized, 'operator', accounts)).toBe(true);
    expect(canCaptureOrVoid(authorized, 'bob', accounts)).toBe(false);
    expect(canCaptureOrVoid({ ...authorized, from: 'alice-eur' }, 'alice', accounts)).toBe(true);
  });
  it('is not offered before the verdict, after the end, or while an action is in flight', () => {
    for (const status of ['pending', 'settled', 'voided', 'expired', 'declined', 'rejected_fraud']) {
      expect(canCaptureOrVoid({ ...authorized, status }, 'alice', accounts)).toBe(false);
    }
    expect(canCaptureOrVoid({ ...authorized, pending_action: 'capture' }, 'alice', accounts)).toBe(false);
    expect(canCaptureOrVoid({ ...authorized, optimistic: true }, 'alice', accounts)).toBe(false);
    expect(canCaptureOrVoid(null, 'alice', accounts)).toBe(false);
  });
});

describe('refunds', () => {
  it('are offered to the owner of to, or an operator, on settled transfers', () => {
    expect(canRefund(settled, 'bob', accounts)).toBe(true);
    expect(canRefund(settled, 'operator', accounts)).toBe(true);
    expect(canRefund(settled, 'alice', accounts)).toBe(false);
    expect(canRefund({ ...settled, status: 'declined' }, 'bob', accounts)).toBe(false);
  });
  it('are not offered for deposits, withdrawals or refunds themselves', () => {
    for (const kind of ['deposit', 'withdrawal', 'refund']) expect(canRefund({ ...settled, kind }, 'operator', accounts)).toBe(false);
  });
  it('count what was captured and what was refunded', () => {
    expect(settledAmount(settled)).toBe(1000);
    expect(settledAmount({ ...settled, captured_amount: 600 })).toBe(600);
    expect(refundableAmount({ ...settled, captured_amount: 600, refunded_amount: 200 })).toBe(400);
    expect(refundableAmount({ ...settled, refunded_amount: 1000 })).toBe(0);
    expect(canRefund({ ...settled, refunded_amount: 1000 }, 'bob', accounts)).toBe(false);
    expect(refundableAmount(authorized)).toBe(0);
  });
});

describe('expiryCountdown', () => {
  const now = Date.parse('2026-12-07T03:00:00.000Z');
  it('counts down in days, hours, minutes and seconds', () => {
    expect(expiryCountdown('2026-12-14T03:00:00Z', now).text).toBe('7d 0h 00m');
    expect(expiryCountdown('2026-12-07T05:04:05Z', now).text).toBe('2h 04m 05s');
    expect(expiryCountdown('2026-12-07T03:04:05Z', now).text).toBe('4m 05s');
    expect(expiryCountdown('2026-12-07T03:00:12Z', now).text).toBe('12s');
    expect(expiryCountdown('2026-12-07T03:00:00.400Z', now).text).toBe('1s');
  });
  it('says expired once the time has passed, and null for no time', () => {
    expect(expiryCountdown('2026-12-07T03:00:00Z', now)).toEqual({ expired: true, text: 'expired', ms: 0 });
    expect(expiryCountdown('2026-12-07T02:00:00Z', now).expired).toBe(true);
    expect(expiryCountdown(undefined, now)).toBe(null);
    expect(expiryCountdown('soon', now)).toBe(null);
  });
});

describe('expiry choices and reasons', () => {
  it('offers only what the gateway accepts, with the default among them', () => {
    for (const c of EXPIRY_CHOICES) expect(validExpiresIn(c.seconds)).toBe(true);
    expect(EXPIRY_CHOICES.map((c) => c.seconds)).toContain(EXPIRES_IN_DEFAULT_S);
    expect(validExpiresIn(0)).toBe(false);
    expect(validExpiresIn(2592001)).toBe(false);
    expect(validExpiresIn(1.5)).toBe(false);
  });
  it('explains the decline codes', () => {
    expect(reasonText('account_frozen')).toMatch(/frozen/);
    expect(reasonText('risk_unavailable')).toMatch(/fraud check/);
    expect(reasonText('exceeds_refundable')).toMatch(/more than/);
    expect(reasonText('something_new')).toBe('something_new');
  });
});
