import { describe, it, expect } from 'vitest';
import { isSettlement, ownedBy, sendableAccounts, payees, transferKind, accountCurrency, mergeAccounts } from './owners.js';

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

  it('offers payees of the same currency only', () => {
    const list = [
      { id: 'alice', owner: 'alice', currency: 'GBP' }, { id: 'alice-eur', owner: 'alice', currency: 'EUR' },
      { id: 'bob-eur', owner: 'bob', currency: 'EUR' }, { id: 'settlement-eur', currency: 'EUR', settlement: true },
      { id: 'carol' },
    ];
    expect(payees(list, ['operator', 'bob'], 'EUR')).toEqual(['alice-eur', 'bob-eur']);
    expect(payees(list, ['operator', 'bob'], 'GBP')).toEqual(['alice', 'bob', 'carol']);
    expect(payees(list, ['bob-eur'], 'JPY')).toEqual([]);
    // a principal whose name is a known account of another currency is not a GBP payee
    expect(payees([{ id: 'erin', currency: 'EUR' }], ['erin'], 'GBP')).toEqual([]);
    expect(accountCurrency({ id: 'x' })).toBe('GBP');
  });

  it('merges account lists by id', () => {
    expect(mergeAccounts([{ id: 'a', v: 1 }, { id: 'b' }], null, [{ id: 'a', v: 2 }, {}]).map((a) => [a.id, a.v]))
      .toEqual([['a', 2], ['b', undefined]]);
  });

  it('names a transfer without a kind a transfer', () => {
    expect(transferKind({ kind: 'deposit' })).toBe('deposit');
    expect(transferKind({})).toBe('transfer');
  });
});
