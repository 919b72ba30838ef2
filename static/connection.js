// Connection keeps one wscalc.v1.json WebSocket session alive for the page: it reconnects
// with exponential backoff and jitter (never more than 5 s between tries, and at once when
// the page regains focus, the browser goes online or the user types), queues lines while
// disconnected and sends them in order once a new session has said hello, and re-sends
// lines that were in flight when a connection dropped (their session is gone, so the new
// one must see them) — except in a room, where such a line may have been stored already
// and must never be evaluated twice (rooms.md §6).

export const SUBPROTOCOL = "wscalc.v1.json";

// Friendly words for close codes the server sends without a reason, or that the browser
// reports on its own (1006: the connection dropped without a close frame).
const CLOSE_WORDS = {
  1000: "session ended",
  1001: "server shutting down",
  1003: "unsupported message",
  1006: "connection lost",
  1008: "idle timeout",
  1009: "message too big",
  1011: "server error",
  1012: "server restarting",
  1013: "server busy",
};

const BACKOFF_BASE_MS = 500;
// The longest wait between tries. A restarted server is found within 5 s even by a page
// nobody looks at; one in use tries at once anyway (nudge). A try is one TCP connection
// refused or one upgrade, so even many tabs cost a server that is down very little.
const BACKOFF_MAX_MS = 5_000;
const BUSY_MIN_MS = 2_000; // a busy server should not be asked again at once
// A try that has not been greeted by then is given up and counted as failed: a connection
// to a host that silently drops packets would otherwise wait for the system's TCP timeout.
const CONNECT_TIMEOUT_MS = 10_000;
// Keystrokes come in bursts: while the server is down, a nudge tries at most this often.
const NUDGE_GAP_MS = 300;

// socketURL derives the WebSocket address from the page's own address, so that the page
// works on any host and port and under a path prefix behind a proxy (wss: under https:).
export function socketURL(loc) {
  const u = new URL("ws", loc.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.search = "";
  u.hash = "";
  return u.href;
}

// closeText describes a close event: the server's reason if it gave one, else the usual
// meaning of the code.
export function closeText(code, reason) {
  const words = reason || CLOSE_WORDS[code] || "connection closed";
  return `${words} (${code})`;
}

// backoffDelay is "equal jitter": half the exponential step for certain, the other half
// random, so that many tabs dropped by one restart do not all come back at the same instant.
export function backoffDelay(attempt, random = Math.random) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(step / 2 + random() * (step / 2));
}

export class Connection {
  // handlers: onState({state, detail, retryIn, why}), onHello(hello, isReconnect) returning
  // lines to send before the queue (session restore), onReply(msg, meta), onPush(msg),
  // onSent(meta) when a line goes out, onDropped(meta) for a line whose session ended
  // without answering it (quit), inRoom() whether the session is in a room, onLost(meta)
  // for a room line in flight when its connection dropped. url is the address, or a
  // function that gives it for each try (a room's address carries the last seq seen).
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.ws = null;
    this.nextId = 1;
    this.queue = []; // {id, expr, meta} not yet sent
    this.inflight = new Map(); // id -> {id, expr, meta, sentAt}
    this.ready = false; // a session has said hello on this.ws
    this.sessions = 0; // hellos received so far
    this.attempt = 0;
    this.timer = 0;
    this.connectTimer = 0;
    this.why = ""; // what started the current or last try: first, timer, typing, line, focus, online, retry
    this.notBefore = 0; // performance.now() before which a nudge does not try
    this.stopped = false; // after a normal quit: wait for the user
    this.lastClose = ""; // the last close reason worth showing
  }

  start() {
    addEventListener("online", () => this.nudge("online"));
    addEventListener("offline", () => {
      if (!this.ready) this.setState("offline", "browser is offline");
    });
    addEventListener("focus", () => this.nudge("focus"));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.nudge("focus");
    });
    this.open("first");
  }

  // send queues one line; it goes out at once when a session is ready. It returns the id.
  send(expr, meta = {}) {
    const item = { id: this.nextId++, expr, meta };
    this.queue.push(item);
    if (this.ready) {
      this.flush();
    } else if (this.stopped) {
      this.retryNow("line");
    } else {
      this.nudge("line");
    }
    return item.id;
  }

  isQueued(id) {
    return this.queue.some((it) => it.id === id);
  }

  // retryNow tries at once, also after quit (the user asked: Retry, or a line to send).
  retryNow(why = "retry") {
    if (this.ws || this.ready) return;
    clearTimeout(this.timer);
    this.stopped = false;
    this.open(why);
  }

  // nudge tries at once if the page is waiting between tries: someone is here (focus,
  // typing) or the network is back. After quit it does nothing: only a line sent, or
  // Retry, starts a new session then.
  nudge(why) {
    if (this.stopped || this.ws || this.ready) return;
    if (performance.now() < this.notBefore) return; // just tried, or the server said busy
    this.retryNow(why);
  }

  setState(state, detail = "", retryIn = 0) {
    this.state = state;
    this.h.onState({ state, detail, retryIn, why: this.why });
  }

  open(why = "timer") {
    this.timer = 0;
    this.why = why;
    if (navigator.onLine === false) {
      this.waitForOnline();
      return;
    }
    this.notBefore = performance.now() + NUDGE_GAP_MS;
    this.setState(this.sessions === 0 ? "connecting" : "reconnecting", this.lastClose);
    let ws;
    try {
      const url = typeof this.url === "function" ? this.url() : this.url;
      ws = new WebSocket(url, SUBPROTOCOL);
    } catch (err) {
      this.lastClose = String(err.message || err);
      this.schedule(0);
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ws, ev.code, ev.reason);
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => this.giveUp(ws), CONNECT_TIMEOUT_MS);
  }

  // giveUp abandons a try that got no hello in time; its close event, when it comes, is
  // ignored (closed checks that the socket is still the current one).
  giveUp(ws) {
    if (ws !== this.ws || this.ready) return;
    this.ws = null;
    ws.close();
    this.lastClose = "no answer from the server";
    this.schedule(0);
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours: the JSON subprotocol never sends anything else
    }
    if (msg.type === "hello") {
      this.hello(msg);
      return;
    }
    if (msg.id === undefined || msg.id === null) {
      this.h.onPush(msg);
      return;
    }
    const item = this.inflight.get(msg.id);
    if (!item) return;
    this.inflight.delete(msg.id);
    this.h.onReply(msg, item.meta, performance.now() - item.sentAt);
  }

  hello(msg) {
    const again = this.sessions > 0;
    clearTimeout(this.connectTimer);
    this.sessions++;
    this.ready = true;
    this.attempt = 0;
    this.lastClose = "";
    this.setState("connected", "");
    // Session restore goes first so that the queued lines see the restored variables.
    const prelude = this.h.onHello(msg, again) || [];
    const restore = prelude.map((p) => ({ id: this.nextId++, expr: p.expr, meta: p.meta }));
    this.queue.unshift(...restore);
    this.flush();
  }

  flush() {
    while (this.ready && this.queue.length > 0) {
      const item = this.queue.shift();
      item.sentAt = performance.now();
      this.inflight.set(item.id, item);
      this.h.onSent(item.meta);
      this.ws.send(JSON.stringify({ id: item.id, expr: item.expr }));
    }
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    clearTimeout(this.connectTimer);
    this.ws = null;
    this.ready = false;
    const pending = [...this.inflight.values()].sort((a, b) => a.id - b.id);
    this.inflight.clear();
    if (code === 1000) {
      // The server closes normally only after a line that ends the session (which lines do
      // is the server's rule, not the page's): it has answered, in order, every line before
      // that one, so the first line without an answer is the one that ended it. It gets no
      // answer; whatever followed it waits for the user to come back.
      const [ender, ...rest] = pending;
      if (ender) this.h.onDropped(ender.meta);
      this.queue.unshift(...rest.filter((it) => !it.meta.restore));
      this.stopped = true;
      this.lastClose = "";
      this.setState("offline", "you ended the session");
      return;
    }
    // The session is gone: its variables are restored on the next one, and the lines it
    // did not answer are sent again, in their order, ahead of anything typed since. A room
    // line may have been stored: it arrives in the recovered history or not at all.
    if (this.h.inRoom && this.h.inRoom()) {
      for (const it of pending) this.h.onLost(it.meta);
    } else {
      this.queue.unshift(...pending.filter((it) => !it.meta.restore));
    }
    this.queue = this.queue.filter((it) => !it.meta.restore);
    if (code !== 1006 || !this.lastClose) this.lastClose = closeText(code, reason);
    this.schedule(code === 1013 ? BUSY_MIN_MS : 0);
  }

  schedule(minDelay) {
    const delay = Math.max(minDelay, backoffDelay(this.attempt++));
    if (navigator.onLine === false) {
      this.waitForOnline();
      return;
    }
    this.notBefore = Math.max(this.notBefore, performance.now() + minDelay);
    this.setState("reconnecting", this.lastClose, delay);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }

  // waitForOnline leaves the next try to the online event: no timer, and no guard that
  // could make the page ignore it.
  waitForOnline() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.notBefore = 0;
    this.setState("offline", "browser is offline");
  }
}
