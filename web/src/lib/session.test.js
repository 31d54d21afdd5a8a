import { describe, it, expect } from 'vitest';
import { decodeSignin, signInFromLocation, readSession, defaultPrincipal } from './session.js';

const KEY_A = 'lk_0123456789abcdef_' + 'a1'.repeat(32);
const KEY_O = 'lk_fedcba9876543210_' + 'b2'.repeat(32);
const link = (obj) => '#signin=' + Buffer.from(JSON.stringify(obj)).toString('base64url');

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

describe('decodeSignin', () => {
  it('reads the keys of a sign-in link', () => {
    expect(decodeSignin(link({ alice: KEY_A, operator: KEY_O }))).toEqual({ alice: KEY_A, operator: KEY_O });
  });
  it('drops entries that are not a principal and a key', () => {
    expect(decodeSignin(link({ alice: KEY_A, Bob: KEY_O, carol: 'secret', dave: 7 }))).toEqual({ alice: KEY_A });
  });
  it('refuses anything else', () => {
    for (const h of ['', '#', '#signin=', '#signin=!!!', '#other=x', link([KEY_A]), link({ carol: 'x' })]) {
      expect(decodeSignin(h)).toBeNull();
    }
  });
});

describe('signInFromLocation', () => {
  it('stores the keys, picks the operator and clears the fragment', () => {
    const storage = memoryStorage();
    const replaced = [];
    const history = { replaceState: (s, t, url) => replaced.push(url) };
    const s = signInFromLocation({ hash: link({ alice: KEY_A, operator: KEY_O }), pathname: '/', search: '' }, history, storage);
    expect(s).toEqual({ keys: { alice: KEY_A, operator: KEY_O }, current: 'operator' });
    expect(replaced).toEqual(['/']);
    expect(readSession(storage)).toEqual(s);
  });
  it('keeps the stored session without a link, and clears a bad link', () => {
    const storage = memoryStorage();
    const history = { replaceState: () => {} };
    signInFromLocation({ hash: link({ alice: KEY_A }), pathname: '/', search: '' }, history, storage);
    const replaced = [];
    const s = signInFromLocation({ hash: '#signin=garbage', pathname: '/', search: '' },
      { replaceState: (a, b, url) => replaced.push(url) }, storage);
    expect(s).toEqual({ keys: { alice: KEY_A }, current: 'alice' });
    expect(replaced).toEqual(['/']);
  });
  it('is signed out with nothing stored', () => {
    expect(readSession(memoryStorage())).toEqual({ keys: {}, current: null });
    expect(defaultPrincipal({})).toBeNull();
  });
});
