// Operator language for the wire's codes: states, decline reasons, close outcomes, major incident
// status, hazards' status and the OS grid letters. Every screen says a code the same way, and no
// screen shows an operator a code (`no_resources`, `transfer.received`) where words exist.

// The transfer's state as an operator says it. "Acknowledge" (the button) leads to "Acknowledged".
export const STATE_LABEL = {
  submitted: 'Sent',
  delivered: 'Delivered',
  received: 'Acknowledged',
  accepted: 'Accepted',
  deferred: 'Deferred',
  declined: 'Declined',
  cancelled: 'Cancelled',
  closed: 'Closed',
  expired: 'Expired',
  redirected: 'Redirected',
};
export const stateLabel = (s) => STATE_LABEL[s] || s;

// What the state means, for a tooltip and for screen readers.
export const STATE_HINT = {
  submitted: 'stored by the gateway, not yet on the other room\'s screen or CAD',
  delivered: 'on the other room\'s screen or CAD, not yet acknowledged',
  received: 'the other room has it in front of them and is considering it',
  accepted: 'the other room is acting on it',
  deferred: 'the other room will decide by the time given',
  declined: 'the other room will not act on it',
  cancelled: 'withdrawn by the sender',
  closed: 'finished',
  expired: 'never delivered before it expired',
  redirected: 'withdrawn by the sender and sent to the other room\'s fallback room instead',
};

export const DECLINE_REASONS = [
  ['no_resources', 'No resources available'],
  ['not_our_remit', 'Not our remit'],
  ['duplicate', 'Duplicate request'],
  ['insufficient_information', 'Not enough information'],
  ['already_attending', 'Already attending'],
  ['other', 'Other reason'],
];
export const CLOSE_OUTCOMES = [
  ['resolved', 'Resolved'],
  ['no_longer_required', 'No longer required'],
  ['handed_over', 'Handed over'],
  ['other', 'Other outcome'],
];
const DECLINE_LABEL = Object.fromEntries(DECLINE_REASONS);
const CLOSE_LABEL = Object.fromEntries(CLOSE_OUTCOMES);
export const declineReason = (code) => DECLINE_LABEL[code] || words(code);
export const closeOutcome = (code) => CLOSE_LABEL[code] || words(code);

export const MAJOR_INCIDENT = {
  declared: 'MAJOR INCIDENT DECLARED',
  standby: 'Major incident standby',
  not_declared: 'Not declared',
};

export const ASK_LABEL = {
  attend: 'Attend (send resources)',
  take_over: 'Take over the incident',
  for_information: 'For information only',
  information_request: 'Answer with information',
};

export const PRIORITY_LABEL = { emergency: 'Emergency', urgent: 'Urgent', routine: 'Routine' };

export const ALERT_LABEL = {
  delivery_overdue: 'Not yet delivered',
  decision_overdue: 'No decision yet',
};

// Casualty counts in triage order, as the N of M/ETHANE is read out.
export const CASUALTY_ORDER = [
  ['fatal', 'Fatal'],
  ['immediate', 'Immediate (P1)'],
  ['urgent', 'Urgent (P2)'],
  ['delayed', 'Delayed (P3)'],
  ['minor', 'Minor'],
  ['uninjured', 'Uninjured'],
];

// A code nobody mapped yet still reads as words: "not_our_remit" -> "Not our remit".
export function words(code) {
  const s = String(code ?? '').replace(/[._]/g, ' ').trim();
  return s ? s[0].toUpperCase() + s.slice(1) : '';
}

// OS National Grid easting/northing in metres -> "TL 74000 03500", as operators read it; null
// outside the grid's lettered squares.
export function gridRef(easting, northing) {
  const e = Math.floor(Number(easting));
  const n = Math.floor(Number(northing));
  if (!Number.isFinite(e) || !Number.isFinite(n) || e < 0 || n < 0 || e >= 700000 || n >= 1300000) return null;
  const e100 = Math.floor(e / 100000);
  const n100 = Math.floor(n / 100000);
  // 500 km squares first (S, T, N, O, H), then the 100 km square inside; the grid skips I.
  let l1 = (19 - n100) - ((19 - n100) % 5) + Math.floor((e100 + 10) / 5);
  let l2 = ((19 - n100) * 5) % 25 + (e100 % 5);
  if (l1 > 7) l1 += 1;
  if (l2 > 7) l2 += 1;
  const pad = (v) => String(v % 100000).padStart(5, '0');
  return `${String.fromCharCode(65 + l1, 65 + l2)} ${pad(e)} ${pad(n)}`;
}
