// timeline.js: turns a transfer's timeline into the steps the page shows:
// gateway -> accounts (hold) -> fraud (verdict and rules) -> accounts (settle
// or release) -> gateway (the status shown to the user).

const LABELS = {
  'transfer.requested': 'Transfer requested',
  'funds.reserved': 'Hold placed on the source',
  'fraud.approved': 'Fraud check: approved',
  'fraud.rejected': 'Fraud check: rejected',
  'transfer.settled': 'Settled: source debited, destination credited',
  'transfer.rejected_fraud': 'Hold released (rejected as fraud)',
  'transfer.declined': 'Declined',
  'transfer.authorized': 'Authorised: funds held until captured, voided or expired',
  'transfer.capture': 'Capture requested',
  'transfer.void': 'Void requested',
  'transfer.voided': 'Voided: hold released',
  'transfer.expired': 'Expired: hold released',
};

const FINAL_STEP = {
  settled: 'transfer.settled',
  rejected_fraud: 'transfer.rejected_fraud',
  declined: 'transfer.declined',
  voided: 'transfer.voided',
  expired: 'transfer.expired',
};

export const STATUS_LABELS = {
  pending: 'pending',
  settled: 'settled',
  rejected_fraud: 'rejected (fraud)',
  declined: 'declined',
  authorized: 'authorised',
  voided: 'voided',
  expired: 'expired',
};

/** "14:03:07.120" in the browser's time zone. */
export function formatTime(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/**
 * [{node, step, label, at, rules, detail, inferred}] for display. A fraud
 * step that the timeline does not carry (older gateways) is inferred from the
 * final step and the transfer's reason; the gateway's own last step is the
 * status it shows, at the view's update time.
 */
export function timelineSteps(t) {
  const entries = Array.isArray(t.timeline) ? [...t.timeline] : [];
  entries.sort((a, b) => (a.ts_ms ?? 0) - (b.ts_ms ?? 0));
  const steps = entries.map((e) => ({
    node: e.node,
    step: e.step,
    label: LABELS[e.step] || e.step,
    at: e.at,
    // the rules that fired belong to the fraud node's verdict
    rules: e.node === 'fraud' && Array.isArray(e.rules) ? e.rules : [],
    detail: null,
    inferred: false,
  }));
  const hasFraud = steps.some((s) => s.node === 'fraud');
  // the fraud verdict comes before the authorisation of a manual capture, or the settlement
  const finalIdx = steps.findIndex((s) => s.step === 'transfer.authorized' || s.step === 'transfer.settled' || s.step === 'transfer.rejected_fraud');
  if (!hasFraud && finalIdx >= 0) {
    const rejected = steps[finalIdx].step === 'transfer.rejected_fraud';
    steps.splice(finalIdx, 0, {
      node: 'fraud',
      step: rejected ? 'fraud.rejected' : 'fraud.approved',
      label: LABELS[rejected ? 'fraud.rejected' : 'fraud.approved'],
      at: null,
      rules: rejected && t.reason && Array.isArray(t.reason.rules) ? t.reason.rules : [],
      detail: null,
      inferred: true,
    });
  }
  for (const s of steps) {
    if (s.step === 'fraud.rejected' && s.rules.length === 0 && t.reason && Array.isArray(t.reason.rules)) s.rules = t.reason.rules;
    if (['transfer.declined', 'fraud.rejected', 'transfer.voided', 'transfer.expired'].includes(s.step) && t.reason) s.detail = t.reason.message || t.reason.code;
  }
  if (FINAL_STEP[t.status]) {
    steps.push({
      node: 'gateway', step: 'status.shown', label: `Status: ${STATUS_LABELS[t.status]}`,
      at: t.updated_at, rules: [], detail: null, inferred: false,
    });
  }
  return steps;
}
