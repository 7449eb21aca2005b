// The live WebSocket (docs/protocols/websocket.md). It starts from the last_event of the
// transfers list the page loaded (so nothing committed between that read and the subscription is
// missed), remembers the id of the last event it saw and, after any drop, reconnects with
// back-off (1 s, 2 s, 4 s ... 15 s) and says {"op":"hello","after":<that id>} so the gateway
// replays exactly what was missed. An error frame saying the gateway cannot read its store is
// treated as a drop: the operator sees that live updates are paused, and the reconnect catches up.
// Close code 4401 means the session ended: no reconnect, the app goes to the login screen.

const MAX_BACKOFF_MS = 15000;

export class Live {
  constructor(handlers) {
    this.h = handlers;
    this.lastEvent = 0;
    this.ws = null;
    this.stopped = true;
    this.backoff = 1000;
    this.timer = null;
    this.connected = false;
  }

  /// `after`: the last_event of the list the page loaded; absent, events from now on.
  start(after) {
    this.stopped = false;
    if (typeof after === 'number' && after >= 0) this.lastEvent = after;
    else this.lastEvent = null;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, 'signed out');
    }
  }

  connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(
      typeof this.lastEvent === 'number' ? { op: 'hello', after: this.lastEvent } : { op: 'hello' }));
    ws.onmessage = (e) => {
      let f;
      try {
        f = JSON.parse(e.data);
      } catch {
        return;
      }
      this.frame(f);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.connected = false;
      if (e.code === 4401) {
        this.stopped = true;
        this.h.sessionEnded?.();
        return;
      }
      if (!this.stopped) this.retry();
    };
  }

  retry() {
    this.h.status?.(this.storeError ? 'store-error' : 'reconnecting', this.backoff);
    this.storeError = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  frame(f) {
    switch (f.op) {
      case 'welcome':
        this.connected = true;
        this.backoff = 1000;
        this.h.status?.('catching-up');
        break;
      case 'event':
        // Replays after a reconnect may overlap what was already seen; ids only move forward.
        if (typeof f.id === 'number' && typeof this.lastEvent === 'number' && f.id <= this.lastEvent) return;
        if (typeof f.id === 'number') this.lastEvent = f.id;
        this.h.event?.(f);
        break;
      case 'caught_up':
        if (typeof f.last_event === 'number' && !(f.last_event <= this.lastEvent)) this.lastEvent = f.last_event;
        this.h.status?.('live');
        this.h.caughtUp?.();
        break;
      case 'links':
        this.h.links?.(f.links || []);
        break;
      case 'resync':
        if (typeof f.last_event === 'number' && !(f.last_event <= this.lastEvent)) this.lastEvent = f.last_event;
        this.h.resync?.();
        break;
      case 'error':
        // The gateway cannot read its store: live updates are paused. Drop and reconnect with
        // back-off; the reconnect replays everything after the last event shown.
        if (f.code === 'bl.store.unavailable' && this.ws) {
          this.storeError = true;
          this.ws.close(4000, 'store unavailable');
        }
        break;
      default:
        break;
    }
  }
}
