import { describe, it, expect } from 'vitest';
import { localInputValue, statementRange, statementPath, statementFilename } from './statement.js';

describe('statementRange', () => {
  const now = new Date(2026, 11, 7, 3, 30).getTime(); // local time
  it('turns local inputs into UTC RFC 3339 times', () => {
    const r = statementRange('2026-12-01T00:00', '2026-12-07T03:00', now);
    expect(r.ok).toBe(true);
    expect(r.from).toBe(new Date(2026, 11, 1, 0, 0).toISOString());
    expect(r.to).toBe(new Date(2026, 11, 7, 3, 0).toISOString());
    expect(r.from.endsWith('Z')).toBe(true);
  });
  it('takes now for an empty end', () => {
    expect(statementRange('2026-12-01T00:00', '', now).to).toBe(new Date(now).toISOString());
  });
  it('refuses a missing or bad start, an end not after the start, and more than a year', () => {
    expect(statementRange('', '', now)).toMatchObject({ ok: false, field: 'from' });
    expect(statementRange('yesterday', '', now)).toMatchObject({ ok: false, field: 'from' });
    expect(statementRange('2026-12-07T03:00', '2026-12-07T03:00', now)).toMatchObject({ ok: false, field: 'to' });
    expect(statementRange('2026-12-07T04:00', '2026-12-07T03:00', now)).toMatchObject({ ok: false, field: 'to' });
    expect(statementRange('2026-12-01T00:00', 'x', now)).toMatchObject({ ok: false, field: 'to' });
    expect(statementRange('2024-12-01T00:00', '', now)).toMatchObject({ ok: false, field: 'from' });
  });
  it('round-trips a local input value', () => {
    const ms = new Date(2026, 0, 2, 3, 4).getTime();
    expect(localInputValue(ms)).toBe('2026-01-02T03:04');
    expect(statementRange(localInputValue(ms), '', ms + 60000).from).toBe(new Date(ms).toISOString());
    expect(localInputValue(NaN)).toBe('');
  });
});

describe('statementPath and statementFilename', () => {
  const range = { from: '2026-12-01T00:00:00.000Z', to: '2026-12-07T03:00:00.000Z' };
  it('builds an encoded query', () => {
    expect(statementPath('alice-eur', range)).toBe('/api/accounts/alice-eur/statement?from=2026-12-01T00%3A00%3A00.000Z&to=2026-12-07T03%3A00%3A00.000Z&format=csv');
    expect(statementPath('a/b', range, 'json')).toMatch(/^\/api\/accounts\/a%2Fb\/statement\?.*format=json$/);
  });
  it('names the file safely', () => {
    expect(statementFilename('alice', range)).toBe('statement-alice-2026-12-01T000000-2026-12-07T030000.csv');
    expect(statementFilename('../x', range)).not.toMatch(/\//);
  });
});
