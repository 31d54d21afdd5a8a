import { describe, it, expect } from 'vitest';
import { isSettlement, ownedBy, sendableAccounts, payees, transferKind } from './owners.js';

const accounts = [
  { id: 'alice', owner: 'alice' },
  { id: 'bob', owner: 'bob' },
  { id: 'joint', owner: 'alice' },
  { id: 'funding', owner: '', settlement: true },
  { id: 'carol' }, // listed without an owner: carol's
];

describe('owners', () => {
  it('offers a principal only the accounts it owns, never the settlement account', () => {
    expect(sendableAccounts(accounts, 'alice').map((a) => a.id)).toEqual(['alice', 'joint']);
    expect(sendableAccounts(accounts, 'carol').map((a) => a.id)).toEqual(['carol']);
    expect(sendableAccounts(accounts, 'operator')).toEqual([]);
    expect(sendableAccounts(accounts, '')).toEqual([]);
    expect(ownedBy({ id: 'funding', funding: true }, 'funding')).toBe(false);
  });

  it('knows the settlement account by either flag', () => {
    expect(isSettlement({ settlement: true })).toBe(true);
    expect(isSettlement({ funding: true })).toBe(true);
    expect(isSettlement({ id: 'alice' })).toBe(false);
  });

  it('lists payees from the accounts and the demo customers, without the operator', () => {
    expect(payees([{ id: 'alice', owner: 'alice' }, { id: 'funding', settlement: true }],
      ['operator', 'bob', 'alice'])).toEqual(['alice', 'bob']);
  });

  it('names a transfer without a kind a transfer', () => {
    expect(transferKind({ kind: 'deposit' })).toBe('deposit');
    expect(transferKind({})).toBe('transfer');
  });
});
