// The HTTP API client. Every unsafe request carries the session's anti-forgery token; any 401
// (other than a failed sign-in) means the session is over, and the app goes to the login screen.

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error || {};
    super(e.message || `the gateway answered ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.pointer = e.pointer;
    this.body = body;
  }
}

let csrfToken = '';
let sessionLost = () => {};

export function setCsrf(token) {
  csrfToken = token || '';
}

export function onSessionLost(fn) {
  sessionLost = fn;
}

export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'The gateway cannot be reached; check the network and try again.' } });
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  // Signing in, and asking whether we are signed in, answer 401 as a normal outcome.
  const sessionProbe = path === '/api/v1/session' && method !== 'DELETE';
  if (res.status === 401 && !sessionProbe) {
    const err = new ApiError(401, data);
    sessionLost(err.message);
    throw err;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => request('GET', path);

// A document served as it is (a partner's original): its text, or an ApiError as request() gives.
export async function getText(path) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'The gateway cannot be reached; check the network and try again.' } });
  }
  if (res.ok) return res.text();
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 401) {
    const err = new ApiError(401, data);
    sessionLost(err.message);
    throw err;
  }
  throw new ApiError(res.status, data);
}
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);
export const patch = (path, body) => request('PATCH', path, body);
