// The console's client of `omni serve`: JSON requests (/v1/act, /v1/scene, /health, speech) and
// the scene event stream (/v1/events over WebSocket, falling back to SSE, then to polling).

// An API key, when the server needs one: ?key=... once, remembered in localStorage.
function api_key() {
  const from_url = new URLSearchParams(location.search).get('key');
  if (from_url) localStorage.setItem('omni.apiKey', from_url);
  return localStorage.getItem('omni.apiKey') || '';
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = api_key();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(method, path, body) {
  const init = { method, headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) {
    const msg = json && json.error ? json.error.message : `${method} ${path}: HTTP ${res.status}`;
    throw new ApiError(res.status, msg, json);
  }
  return json;
}

export const api = {
  health: () => request('GET', '/health'),
  models: () => request('GET', '/v1/models'),
  scene: () => request('GET', '/v1/scene'),
  scene_action: (action) => request('POST', '/v1/scene', action),
  act: (body) => request('POST', '/v1/act', body),
  async speech(text) {
    const res = await fetch('/v1/audio/speech', {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ model: 'tts-1', input: text, voice: 'alloy', response_format: 'wav' }),
    });
    if (!res.ok) throw new ApiError(res.status, `speech: HTTP ${res.status}`);
    return res.blob();
  },
};

export function ws_url(path) {
  const u = new URL(path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = api_key();
  if (key) u.searchParams.set('api_key', key);
  return u.toString();
}

// Subscribes to scene events. on_event(json) gets every event; on_status(text) the connection
// state ('live', 'reconnecting', 'polling'). Returns a function that stops it.
export function subscribe_events(on_event, on_status) {
  let stopped = false, ws = null, es = null, poll = null, failures = 0;
  const connect_ws = () => {
    if (stopped) return;
    let opened = false;
    try { ws = new WebSocket(ws_url('/v1/events')); } catch { return connect_sse(); }
    ws.onopen = () => { opened = true; failures = 0; on_status('live'); on_event({ type: 'omni.reconnected' }); };
    ws.onmessage = (m) => { try { on_event(JSON.parse(m.data)); } catch { /* not JSON: ignore */ } };
    ws.onclose = () => {
      if (stopped) return;
      failures++;
      if (!opened && failures >= 2) return connect_sse();
      on_status('reconnecting');
      setTimeout(connect_ws, Math.min(5000, 300 * failures));
    };
  };
  const connect_sse = () => {
    if (stopped || typeof EventSource === 'undefined') return start_polling();
    // EventSource cannot send an Authorization header: the key goes in the query, as for WebSockets.
    const u = new URL('/v1/events', location.href);
    const key = api_key();
    if (key) u.searchParams.set('api_key', key);
    es = new EventSource(u.toString());
    es.onopen = () => { on_status('live'); on_event({ type: 'omni.reconnected' }); };
    es.onmessage = (m) => { try { on_event(JSON.parse(m.data)); } catch { /* ignore */ } };
    for (const t of ['omni.scene', 'omni.action', 'omni.scene_error']) {
      es.addEventListener(t, (m) => { try { on_event(JSON.parse(m.data)); } catch { /* ignore */ } });
    }
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) { es = null; start_polling(); } else on_status('reconnecting');
    };
  };
  const start_polling = () => {
    if (stopped || poll) return;
    on_status('polling');
    poll = setInterval(() => on_event({ type: 'omni.poll' }), 2000);
  };
  connect_ws();
  return () => {
    stopped = true;
    if (ws) ws.close();
    if (es) es.close();
    if (poll) clearInterval(poll);
  };
}

// Reads a File into a data: URL.
export function file_to_data_url(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
