// The queue's API as the page uses it: relative URLs (so the page works under
// a reverse proxy's path prefix), the token from sessionStorage in an
// Authorization header on every call (never a cookie, never a URL), errors
// as exceptions carrying the HTTP status and the queue's message.
const TOKEN_KEY = 'airgap.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(t) {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  role: null,
  onAuthLost: () => {},
};

export function url(path) { return new URL(path, document.baseURI).toString(); }

export async function request(path, { method = 'GET', body, signal, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${session.token || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(url(path), {
    method, headers, signal, cache: 'no-store', credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401) {
    session.token = null;
    session.onAuthLost();
    throw new ApiError(401, 'invalid token');
  }
  if (raw) {
    if (!resp.ok) throw new ApiError(resp.status, await message(resp));
    return resp;
  }
  if (!resp.ok) throw new ApiError(resp.status, await message(resp));
  if (resp.status === 204) return null;
  return resp.json();
}

async function message(resp) {
  try {
    const o = await resp.json();
    return o.error || resp.statusText;
  } catch {
    return resp.statusText || `HTTP ${resp.status}`;
  }
}

export const api = {
  whoami: () => request('v1/whoami'),
  jobs: (params) => request(`v1/jobs?${new URLSearchParams(params)}`),
  job: (id) => request(`v1/jobs/${encodeURIComponent(id)}`),
  cancel: (id) => request(`v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: {} }),
  retry: (id) => request(`v1/jobs/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} }),
  agents: () => request('v1/agents'),
  drain: (name, on) =>
    request(`v1/agents/${encodeURIComponent(name)}/${on ? 'drain' : 'resume'}`, { method: 'POST', body: {} }),
  queue: () => request('v1/queue'),
};

// Reads a streamed response body chunk by chunk until it ends or signal aborts.
export async function stream(resp, onChunk) {
  const reader = resp.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onChunk(value);
  }
}

// "Something changed" from GET /v1/events (Server-Sent Events read with
// fetch: EventSource cannot send the Authorization header). Reconnects with
// a backoff; onState(true|false) says whether the stream is up.
export function watchChanges(onChange, onState) {
  let stopped = false, ctl = null, backoff = 500;
  (async function loop() {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const resp = await request('v1/events', { raw: true, signal: ctl.signal });
        onState(true);
        backoff = 500;
        const dec = new TextDecoder();
        let buf = '';
        await stream(resp, (bytes) => {
          buf += dec.decode(bytes, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const ev = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (/^event: change$/m.test(ev)) onChange();
          }
        });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) stopped = true;
      }
      onState(false);
      if (stopped) break;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10000);
    }
  })();
  return () => { stopped = true; if (ctl) ctl.abort(); };
}
