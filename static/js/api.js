// Shared JSON API helper (contract: API.md).
//
//   import { api, ApiError } from "./api.js";
//   const me = await api("GET", "/api/auth/me/");
//   await api("POST", "/api/friends/requests/", { to_user: "bob" });
//   await apiForm("/api/recordings/import/", new FormData(form)); // multipart
//
// Sends JSON with the session cookie and the CSRF token (X-CSRFToken, read
// from the `csrftoken` cookie; fetched from /api/auth/csrf/ first if missing).
// Non-2xx answers throw an ApiError carrying `status`, the server's `error`
// sentence as `message`, and its per-field `errors` (form validation).

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** An HTTP error answer (or a network failure: status 0). */
export class ApiError extends Error {
  constructor(status, message, errors = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors || {};
  }
}

/** Read a cookie by name (null when absent). */
/** The element whose data-testid is `id` inside `root` (the pages' stable hooks), or null. */
export function byTestId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

export function getCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** The CSRF token, asking the server to set the cookie if we have none yet. */
async function csrfToken() {
  let token = getCookie("csrftoken");
  if (!token) {
    const resp = await fetch("/api/auth/csrf/", { credentials: "same-origin" });
    const body = await resp.json().catch(() => ({}));
    token = getCookie("csrftoken") || body.csrfToken || "";
  }
  return token;
}

/**
 * Call the JSON API. Resolves to the parsed body (null for 204 / empty).
 * @param {string} method  GET, POST, PATCH, DELETE
 * @param {string} path    e.g. "/api/friends/"
 * @param {object} [data]  JSON body for unsafe methods
 * @param {{keepalive?: boolean, timeoutMs?: number}} [options]  keepalive: the request
 *   outlives the page (sent from pagehide, which would otherwise cancel it); the body must
 *   stay under 64 KB. timeoutMs: give up after that long (an ApiError with status 0), for
 *   a request whose answer something on the page waits for.
 */
export async function api(method, path, data, { keepalive = false, timeoutMs = 0 } = {}) {
  method = method.toUpperCase();
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (keepalive) init.keepalive = true;
  if (timeoutMs > 0) init.timeoutMs = timeoutMs;
  if (!SAFE_METHODS.has(method)) {
    headers["X-CSRFToken"] = await csrfToken();
    if (data !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(data);
    }
  }
  return send(path, init);
}

/**
 * Send a multipart form (file uploads) with the CSRF token; answers like api().
 * The browser sets the multipart Content-Type (with its boundary) itself.
 * @param {string} path          e.g. "/api/recordings/import/"
 * @param {FormData} formData    the fields and files
 * @param {string} [method]      POST (default) or another unsafe method
 */
export async function apiForm(path, formData, method = "POST") {
  const headers = { Accept: "application/json", "X-CSRFToken": await csrfToken() };
  return send(path, { method, headers, credentials: "same-origin", body: formData });
}

/** Fallback sentences when an error answer carries no JSON `error`. */
const STATUS_TEXT = {
  413: "That is too large for the server.",
  429: "Too many requests. Please try again later.",
  503: "The service is unavailable right now. Please try again later.",
};

/** fetch(), then parse the JSON answer or throw an ApiError (`init.timeoutMs`: see api()). */
async function send(path, { timeoutMs = 0, ...init }) {
  // A timer of the page's own (not AbortSignal.timeout): it runs on the page's clock.
  const controller = timeoutMs > 0 ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  if (controller) init.signal = controller.signal;
  let resp;
  let text;
  try {
    resp = await fetch(path, init);
    text = await resp.text();
  } catch (err) {
    if (controller && controller.signal.aborted) {
      throw new ApiError(0, "The server did not answer in time. Please try again.");
    }
    throw new ApiError(0, "Cannot reach the server. Check your connection.");
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null; // not JSON (should not happen under /api/)
    }
  }
  if (!resp.ok) {
    const message =
      (body && body.error) ||
      STATUS_TEXT[resp.status] ||
      `Request failed (HTTP ${resp.status}).`;
    throw new ApiError(resp.status, message, body && body.errors);
  }
  return body;
}

/**
 * The `next` target from the page's query string (or a fallback), accepted
 * only if it is a same-site relative path: "/x" but never "//host", "/\host", nor a
 * path whose dot segments resolve to "//host".
 */
export function safeNext(candidate, fallback = "/") {
  if (typeof candidate !== "string" || !candidate.startsWith("/")) return fallback;
  if (candidate.startsWith("//") || candidate.includes("\\")) return fallback;
  try {
    const url = new URL(candidate, window.location.origin);
    if (url.origin !== window.location.origin) return fallback;
    const target = url.pathname + url.search + url.hash;
    // Checked again after the URL parser resolved "." and ".." segments:
    // "/.//evil.example/" comes out as the off-site "//evil.example/".
    if (target.startsWith("//")) return fallback;
    return target;
  } catch {
    return fallback;
  }
}

let leaving = false;

/**
 * Go to the login page, coming back to `next` (a same-site path) afterwards.
 * Does nothing once this page is logging out: requests still in flight then get
 * 401 and must not race the logout's own redirect to /login/.
 */
export function goToLogin(next) {
  if (leaving) return;
  window.location.assign(`/login/?next=${encodeURIComponent(next).replaceAll("%2F", "/")}`);
}

/**
 * A polite status line on `el`: returns `say(text)`; each message clears after `clearMs`.
 * @param {HTMLElement} el
 * @param {number} clearMs
 * @returns {(text: string) => void}
 */
export function statusLine(el, clearMs = 8_000) {
  let timer = null;
  return (text) => {
    el.textContent = text;
    clearTimeout(timer);
    timer = setTimeout(() => (el.textContent = ""), clearMs);
  };
}

const beforeLogout = [];
const BEFORE_LOGOUT_MAX_MS = 5_000;

/** Run `fn` (it may return a promise) before "Log out" ends the session: what the page must
 *  still do as this user, such as stopping its live stream (after the logout, its stop
 *  would be refused as not logged in). Waited for at most BEFORE_LOGOUT_MAX_MS. */
export function onBeforeLogout(fn) {
  beforeLogout.push(fn);
}

/** Wire the header's "Log out" button (present on logged-in pages). */
export function bindLogout() {
  const button = document.querySelector('[data-action="logout"]');
  if (!button) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    leaving = true;
    const pending = beforeLogout.map((fn) => Promise.resolve().then(fn).catch(() => {}));
    const cap = new Promise((resolve) => setTimeout(resolve, BEFORE_LOGOUT_MAX_MS));
    await Promise.race([Promise.all(pending), cap]);
    try {
      await api("POST", "/api/auth/logout/"); // 204 also when the session had already ended
    } catch (err) {
      // Still logged in: the login page would send this browser straight back, and on a
      // shared computer the user would walk away believing they had logged out.
      console.warn("logout failed", err);
      leaving = false;
      button.disabled = false;
      window.alert(`Could not log out (${err.message}). You are still logged in; try again.`);
      return;
    }
    window.location.assign("/login/");
  });
}

/** "just now", "5 min ago", "3 h ago", "2 days ago" for an ISO timestamp. */
export function timeAgo(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86400);
  return days === 1 ? "1 day ago" : `${days} days ago`;
}
