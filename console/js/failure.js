// What a failure means to an operator, in words: what happened and what to do next. Every screen
// that sends (compose, the detail screen's actions, phone-prompt claims) explains its failures
// here, from the error's stable code (docs/error-codes.md). For codes not listed the gateway's
// own operator text from its error table (error.text) is shown, never the technical message.

// Failures after which the other room must be phoned if the request matters now: nothing was
// accepted and sending again may not work soon.
const PHONE_CODES = new Set(['network', 'bl.store.busy', 'bl.store.disk_full', 'bl.store.unavailable',
  'bl.store.corrupt', 'bl.gateway.degraded', 'bl.gateway.shutting_down', 'bl.gateway.internal', 'bl.rate.inbox_full',
  'bl.transfer.expired', 'bl.request.too_many_connections']);

const WORDS = {
  network: ['The gateway cannot be reached (network or gateway down).',
    'Nothing was sent. If it is urgent, phone them now. Your text is kept: send again once the connection is back.'],
  'bl.store.busy': ['The gateway could not store it: its store is refusing writes.',
    'Nothing was sent. If it is urgent, phone them now. Your text is kept: try sending again in a minute.'],
  'bl.store.disk_full': ['The gateway could not store it: its disk is full.',
    'Nothing was sent. Phone them now, and tell your supervisor the gateway needs attention. Your text is kept.'],
  'bl.store.unavailable': ['The gateway could not store it: its database is unavailable (a store failover may be in progress).',
    'Nothing was sent. If it is urgent, phone them now. Your text is kept: try sending again shortly.'],
  'bl.store.conflict': ['Another gateway server changed the same request at the same moment.',
    'Nothing was sent. Your text is kept: send it again now.'],
  'bl.store.corrupt': ['The gateway could not store it: its store is damaged.',
    'Nothing was sent. Phone them now, and tell your supervisor the gateway needs attention. Your text is kept.'],
  'bl.gateway.degraded': ['Part of the gateway has failed and it is restarting.',
    'Nothing was sent. Phone them now if it is urgent. Your text is kept: try again in a minute.'],
  'bl.gateway.shutting_down': ['The gateway is restarting.',
    'Nothing was sent. Your text is kept: try again in a minute, or phone them if it is urgent.'],
  'bl.gateway.busy': ['The gateway is busy.', 'Nothing was sent. Try again in a few seconds.'],
  'bl.gateway.internal': ['The gateway failed while handling this (it has been logged).',
    'Nothing was sent. Phone them if it is urgent, and tell your supervisor. Your text is kept.'],
  'bl.request.too_many_connections': ['The gateway has too many connections open.',
    'Nothing was sent. Try again shortly, or phone them if it is urgent.'],
  'bl.rate.submissions': ['Your room is sending faster than the gateway allows.',
    'Nothing was sent. Wait a few seconds and send again. Your text is kept.'],
  'bl.rate.inbox_full': ['They already have too many undelivered requests from your room.',
    'Nothing was sent. Phone them: their system may not be reading its requests.'],
  'bl.auth.session_expired': ['Your session ended.', 'Sign in again; your draft is kept.'],
  'bl.auth.csrf': ['This console page is out of date.', 'Reload the page (F5); your draft is kept.'],
  'bl.auth.forbidden_role': ['Your role does not allow this.', 'Ask a supervisor.'],
  'bl.auth.not_a_party': ['Your room is not a party to this transfer.', 'Check the transfer number.'],
  'bl.transfer.not_found': ['There is no such transfer for your room.', 'Check the transfer number.'],
  'bl.transfer.stale_version': ['Someone else changed this transfer first.',
    'It has been reloaded: check what changed and try again.'],
  'bl.transfer.illegal_transition': ['That is not possible in the transfer\'s current state.',
    'It has been reloaded: check its state.'],
  'bl.transfer.expired': ['The transfer expired before it was delivered.', 'Phone them.'],
  'bl.route.unknown_agency': ['That control room is not set up on this gateway.',
    'Choose another one under "To", or phone them.'],
  'bl.route.self_addressed': ['A request must go to another control room.', 'Choose one under "To".'],
  'bl.request.too_large': ['The request is too long for the gateway.', 'Shorten the notes and descriptions.'],
};

/// {code, what, next, phone}: `next` is what the operator should do now; `phone` says to offer
/// "Phone <room> on <number>".
export function explain(err) {
  const code = err?.code || (err?.status === 0 ? 'network' : '');
  const words = WORDS[code];
  if (words) return { code, what: words[0], next: words[1], phone: PHONE_CODES.has(code) };
  // Not one the console words itself: the gateway's error-table text, else a plain fallback.
  const text = err?.body?.error?.text;
  if (err?.status >= 500) {
    return { code, what: text || `The gateway could not do this (${err.status}).`,
      next: 'Nothing was sent. Phone them if it is urgent.', phone: true };
  }
  return { code, what: text || 'The gateway refused this.', next: '', phone: false };
}

// Names for the fields of answers and updates (the detail screen's forms), by the pointer's last
// key, for validation errors that carry a pointer.
const KEY_LABEL = {
  eta_minutes: 'ETA (minutes)', resources: 'Resources', reason: 'Reason', text: 'Explanation',
  until: 'Defer until', outcome: 'Outcome', note: 'Note', number: 'Incident number', summary: 'Summary',
  version: 'The transfer', body: 'The form',
};
function labelOf(pointer) {
  const key = String(pointer || '').split('/').filter((k) => k && !/^\d+$/.test(k)).pop() || '';
  return KEY_LABEL[key] || (key ? key[0].toUpperCase() + key.slice(1).replace(/_/g, ' ') : 'The form');
}

/// One line for a status element: "What happened. What to do."
export function sentence(err) {
  if (err?.code === 'bl.schema.invalid') {
    const b = err.body || {};
    const first = (Array.isArray(b.errors) && b.errors[0]) || b.error || {};
    return fieldText(labelOf(first.pointer), first.message);
  }
  const e = explain(err);
  return [e.what, e.next].filter(Boolean).join(' ');
}

// Schema (validator) messages as an operator says them, for a field called `label`. `hint`
// optionally words a pattern ("a UK postcode such as CM1 1QH").
export function fieldText(label, message, hint) {
  const m = String(message || '');
  let n;
  if (/missing required property|is required|no fewer than 1 char/i.test(m)) return `${label} is required.`;
  if ((n = /no more than (\d+) char/i.exec(m))) return `${label}: at most ${n[1]} characters.`;
  if ((n = /no more than (\d+) (item|element)/i.exec(m))) return `${label}: at most ${n[1]} lines.`;
  if (/'type' constraint/i.test(m)) return hint ? `${label}: ${hint}.` : `${label} is not in the right form.`;
  if (/regex|pattern/i.test(m)) return hint ? `${label}: ${hint}.` : `${label} is not in the expected form.`;
  if (/enum/i.test(m)) return `${label}: choose one of the options.`;
  if ((n = /greater than or equal to (-?[\d.]+)/i.exec(m))) return `${label} must be ${n[1]} or more.`;
  if ((n = /less than or equal to (-?[\d.]+)/i.exec(m))) return `${label} must be ${n[1]} or less.`;
  if (/unknown property/i.test(m)) return `${label} cannot be sent with this request.`;
  if (/any of|anyOf|at least one/i.test(m)) return `${label}: give at least one of address, postcode, latitude and longitude, or OS grid reference.`;
  // A gateway check with its own wording (not a schema constraint) is already in words.
  if (!/constraint|schema|property|validated/i.test(m)) return `${label}: ${m}`;
  return `${label} is not valid as entered; check it.`;
}
