// Whether a location is plausible for the request being composed (issue 14): the gateway's
// GET /api/v1/geo says `plausible: false` and a `reason` for a point outside Great Britain or far
// from both agencies' areas (agencies[].area in its config). The operator sees the reason beside
// the converted coordinates and is asked to confirm before the request is sent; it is a question,
// never a refusal. Kept apart from compose.js, which only calls these three functions.
import * as api from './api.js';

const parties = (app, to) => {
  const from = app.session?.user?.agency;
  return (from ? `&from=${encodeURIComponent(from)}` : '') + (to ? `&to=${encodeURIComponent(to)}` : '');
};

/// The geo query with the two agencies added, so that the answer carries the verdict.
export const withParties = (query, app, to) => `${query}${parties(app, to)}`;

/// Text to show after the coordinates: empty when the point is plausible.
export const plausibilityNote = (g) => (g && g.plausible === false ? ` · Check the location: ${g.reason}` : '');

/// Before sending: asks the gateway again for the point last converted (the receiving agency may
/// have changed since) and, when it is questioned, asks the operator to confirm. True: send.
export async function confirmLocation(app, g, to) {
  if (!g || typeof g.lat !== 'number' || typeof g.lon !== 'number') return true;
  let verdict = g;
  try {
    verdict = await api.get(withParties(`/api/v1/geo?lat=${g.lat}&lon=${g.lon}`, app, to));
  } catch {
    // The check could not be made again: fall back to the verdict already shown.
  }
  if (verdict.plausible !== false) return true;
  return globalThis.confirm(`${verdict.reason}.\n\nSend the request with this location anyway?`);
}
