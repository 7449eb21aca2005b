// The compose screen's unsent request, kept so that nothing an operator typed is lost when a send
// fails or the session ends mid-compose. Kept in sessionStorage, under the user's name: it
// survives a session ending, signing in again and a reload of the tab, and is restored only to
// the same user; it is gone when the tab or browser is closed. On a shared control-room PC the
// next person therefore never sees it: it is also cleared by a deliberate "Sign out" and after
// a successful send.
const PREFIX = 'bluelink.draft.';
const MAX_AGE_MS = 12 * 3600 * 1000; // one shift: an older draft is stale, not help

const key = (user) => `${PREFIX}${user}`;

export function saveDraft(user, values) {
  if (!user) return;
  try {
    sessionStorage.setItem(key(user), JSON.stringify({ saved_at: Date.now(), values }));
  } catch {
    // Storage full or disabled: the draft is only lost across a sign-in, never while on screen.
  }
}

/// The draft's {saved_at, values}, or null.
export function loadDraft(user) {
  if (!user) return null;
  try {
    const d = JSON.parse(sessionStorage.getItem(key(user)) || 'null');
    if (!d || typeof d.values !== 'object' || Date.now() - d.saved_at > MAX_AGE_MS) return null;
    return d;
  } catch {
    return null;
  }
}

export function hasDraft(user) {
  return !!loadDraft(user);
}

export function clearDraft(user) {
  if (!user) return;
  try {
    sessionStorage.removeItem(key(user));
  } catch {
    // nothing stored
  }
}
