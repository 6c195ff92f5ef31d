// Shared presence socket: /ws/presence/ with reconnect, backoff and keepalive.
//
//   import { connectPresence } from "./presence.js";
//   const presence = connectPresence();
//   presence.on("presence", (ev) => ...);        // one event type
//   presence.on("*", (ev) => ...);               // every server event
//   presence.on("open", () => refreshAll());     // (re)connected: resync state
//
// Server events are JSON objects with a `type` (see API.md). Besides those,
// subscribers can listen to the local pseudo-events "open" and "close".
// The connection state is mirrored on the header's
// [data-testid="connection-status"] element (data-state="open|connecting|closed"),
// with the server's last error (`{"type":"error"}`, e.g. "At most 8 open tabs.") or what
// the close code means as its text while the socket is down.
//
// Reconnects back off exponentially (1 s doubling to 30 s). The backoff starts over only
// once a socket has proved to work: it stayed open STABLE_MS, or the server sent it
// something other than an error. A server that accepts and then closes at once (a failing
// connect, a refused tab) would otherwise be retried every second.

import { api, goToLogin } from "./api.js";

const PING_INTERVAL_MS = 25_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
const STABLE_MS = 10_000; // open this long: the socket works, the backoff starts over

/**
 * How long to wait before the next reconnect: a uniform draw up to `backoffMs` ("full
 * jitter"), so tabs that lost the server together (a restart) come back spread over the
 * whole window instead of bunched around its end. A refused tab (too many tabs, too fast)
 * waits at least half of it: a slot frees only when another tab closes.
 * @param {number} backoffMs
 * @param {boolean} refused
 * @returns {number}
 */
function reconnectDelay(backoffMs, refused) {
  const floor = refused ? backoffMs / 2 : 0;
  return floor + Math.random() * (backoffMs - floor);
}
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_TOO_MANY = 4429; // this user has too many sockets open (other tabs)
const CLOSE_TOO_FAST = 4408; // this page sent messages faster than the server allows
const CLOSE_SERVER_ERROR = 1011;

const STATE_TEXT = {
  open: "Connected",
  connecting: "Connecting…",
  closed: "Reconnecting…",
};

// What a close means when the server sent no error message first.
const CLOSE_TEXT = {
  [CLOSE_TOO_MANY]: "Too many open tabs.",
  [CLOSE_TOO_FAST]: "Too many messages from this page.",
  [CLOSE_SERVER_ERROR]: "Server error.",
};

// `detail` (an error) replaces the state's text, suffixed with what happens next.
function showState(state, detail = "") {
  const el = document.querySelector('[data-testid="connection-status"]');
  if (!el) return;
  el.dataset.state = state;
  const label = STATE_TEXT[state] || state;
  const text = el.querySelector(".conn-text");
  if (text) text.textContent = detail ? `${detail} ${label}` : label;
  const title = state === "open" ? "Live updates are on" : "Live updates are paused; reconnecting";
  el.title = detail ? `${detail} ${title}` : title;
}

/**
 * The page was rendered for one account; a socket that (re)opens carries the browser's
 * login now. Another tab may have logged in as someone else while this socket was down
 * (its 4401 never arrived): the page would then show and act on that account's data under
 * this one's name, so it reloads as the account it now is.
 */
function reloadIfAnotherUser() {
  const shown = document.querySelector('[data-testid="current-user"]');
  if (!shown) return;
  api("GET", "/api/auth/me/")
    .then((me) => {
      if (me && me.username !== shown.textContent.trim()) window.location.reload();
    })
    .catch(() => {}); // logged out: the socket's 4401 goes to the login page
}

/** Open the presence socket and return a small subscribe API. */
export function connectPresence() {
  const handlers = new Map(); // type -> Set<fn>
  let socket = null;
  let pingTimer = null;
  let retryTimer = null;
  let stableTimer = null;
  let backoff = BACKOFF_MIN_MS;
  let stopped = false;
  let lastError = ""; // the server's last error message on the current socket

  function emit(type, event) {
    for (const key of [type, "*"]) {
      for (const fn of handlers.get(key) || []) {
        try {
          fn(event);
        } catch (err) {
          console.error("presence handler failed", err);
        }
      }
    }
  }

  function url() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${window.location.host}/ws/presence/`;
  }

  // The current socket works: the next reconnect may be quick again.
  function settled() {
    clearTimeout(stableTimer);
    stableTimer = null;
    backoff = BACKOFF_MIN_MS;
  }

  function open() {
    clearTimeout(retryTimer);
    showState("connecting");
    lastError = "";
    socket = new WebSocket(url());

    socket.addEventListener("open", () => {
      // Not settled() yet: an accepted socket may still be closed at once.
      stableTimer = setTimeout(settled, STABLE_MS);
      showState("open");
      reloadIfAnotherUser();
      pingTimer = setInterval(() => send({ type: "ping" }), PING_INTERVAL_MS);
      emit("open", { type: "open" });
    });

    socket.addEventListener("message", (msg) => {
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return; // ignore anything that is not JSON
      }
      if (!event || typeof event.type !== "string") return;
      if (event.type === "error") {
        // Shown until the socket closes or works (a refused tab is sent one, then closed).
        lastError = typeof event.error === "string" ? event.error : "Server error.";
        showState("open", lastError);
      } else {
        settled(); // the server is serving this socket
      }
      if (event.type === "pong") return;
      emit(event.type, event);
    });

    socket.addEventListener("close", (ev) => {
      clearInterval(pingTimer);
      clearTimeout(stableTimer);
      stableTimer = null;
      socket = null;
      emit("close", { type: "close", code: ev.code });
      if (stopped) return;
      if (ev.code === CLOSE_UNAUTHENTICATED) {
        // The session is gone (logged out elsewhere): go log in again.
        goToLogin(window.location.pathname + window.location.search);
        return;
      }
      showState("closed", lastError || CLOSE_TEXT[ev.code] || "");
      // Too many tabs: a slot frees only when one closes, so retry slowly.
      const refused = ev.code === CLOSE_TOO_MANY || ev.code === CLOSE_TOO_FAST;
      if (refused) backoff = BACKOFF_MAX_MS;
      const delay = reconnectDelay(backoff, refused);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      retryTimer = setTimeout(open, delay);
    });
    // "error" is always followed by "close"; nothing more to do there.
  }

  function send(obj) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
  }

  // Coming back online or to the tab: retry now instead of waiting out the backoff.
  function retrySoon() {
    if (!stopped && socket === null) {
      backoff = BACKOFF_MIN_MS;
      open();
    }
  }
  window.addEventListener("online", retrySoon);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") retrySoon();
  });
  // Leaving the page: close cleanly so friends see us go offline promptly.
  window.addEventListener("pagehide", () => {
    stopped = true;
    if (socket) socket.close(1000, "page hidden");
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) {
      stopped = false; // restored from the back/forward cache
      retrySoon();
    }
  });

  open();

  return {
    /** Subscribe to an event type ("*" for all); returns an unsubscribe function. */
    on(type, fn) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(fn);
      return () => handlers.get(type).delete(fn);
    },
    /** True while the socket is open. */
    get connected() {
      return socket !== null && socket.readyState === WebSocket.OPEN;
    },
    /** Close for good (no reconnect). */
    close() {
      stopped = true;
      clearTimeout(retryTimer);
      if (socket) socket.close(1000, "closed by page");
    },
  };
}
