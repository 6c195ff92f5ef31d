// Recordings page (/recordings/): your and your friends' recordings, your
// storage use, the player (recording_player.js) with the owner tools
// (recording_owner.js) and the import form (recording_import.js). Job progress
// arrives live over the presence socket ("recording_job" events). The URL's
// hash (#<id>) selects a recording, e.g. the link shown after going live.
// Rendering rule: user-provided text only goes through textContent.

import { api, ApiError, bindLogout, goToLogin, statusLine, byTestId } from "./api.js";
import { connectPresence } from "./presence.js";
import {
  formatBytes,
  formatDate,
  formatDuration,
  jobIsOpen,
  statusText,
} from "./recording_format.js";
import { initImport } from "./recording_import.js";
import { createOwnerTools } from "./recording_owner.js";
import { createPlayer } from "./recording_player.js";

const STATUS_CLEAR_MS = 8_000;
const POLL_MS = 5_000; // only while some job runs that no socket event will tell us about
const PAGE = 100; // recordings per request (the server's default page)

const listEl = byTestId("recording-list");
const moreButton = byTestId("recordings-more");
const statusEl = byTestId("status");
const errorEl = byTestId("recordings-error");

// --- State (the server is the source of truth; these mirror its answers)
let recordings = []; // in the server's order (newest first): the pages loaded so far
let nextCursor = null; // the server's "next" after the last page loaded (null: none older)
let selectedId = null;
let listSeq = 0;
let listLoaded = false; // the list has been shown once
let settingsPromise = null;

// --- Feedback: a polite status line and an assertive error region
const say = statusLine(statusEl, STATUS_CLEAR_MS);

function fail(err) {
  if (err && err.status === 401) {
    goToLogin("/recordings/");
    return;
  }
  // Refusals (4xx) are expected answers the user can act on; anything else is a bug or outage.
  if (err instanceof ApiError && err.status >= 400 && err.status < 500) console.warn(err);
  else console.error(err);
  errorEl.textContent = (err && err.message) || "Something went wrong.";
}

function clearError() {
  errorEl.textContent = "";
}

const find = (id) => recordings.find((r) => r.id === id) || null;

// ===== List ============================================================

/**
 * Re-read the newest page (and the storage use). Older pages already shown stay: the
 * page ends at a recording that is still in the list, and what follows it is older.
 */
async function loadList() {
  const mine = ++listSeq;
  const data = await api("GET", `/api/recordings/?limit=${PAGE}`);
  if (mine !== listSeq) return;
  const fresh = data.recordings;
  const last = fresh.length ? fresh[fresh.length - 1].id : null;
  const at = data.next === null ? -1 : recordings.findIndex((r) => r.id === last);
  const ids = new Set(fresh.map((r) => r.id));
  const older = at >= 0 ? recordings.slice(at + 1).filter((r) => !ids.has(r.id)) : [];
  recordings = fresh.concat(older);
  if (!older.length) nextCursor = data.next; // else the cursor after the older pages holds
  // Rows kept from older pages are not in this answer: those whose job may have moved on
  // (finished while the socket was down, a friend's) are read again one by one.
  for (const rec of older) if (jobIsOpen(rec.job) || rec.status === "processing") reread(rec.id);
  byTestId("recordings-loading").hidden = true;
  renderStorage(data.storage);
  renderList();
  listLoaded = true;
  const shown = selectedId !== null ? find(selectedId) : null;
  if (shown) showSelected(shown);
}

function renderStorage(storage) {
  const box = byTestId("storage");
  if (!storage) return;
  const used = Number(storage.used_bytes) || 0;
  const quota = Number(storage.quota_bytes) || 0;
  const meter = byTestId("storage-meter");
  box.hidden = false;
  meter.hidden = quota <= 0;
  if (quota > 0) {
    meter.max = quota;
    meter.value = Math.min(used, quota);
    meter.low = quota * 0.8;
    meter.high = quota * 0.95;
    byTestId("storage-text").textContent = `Your storage: ${formatBytes(used)} of ${formatBytes(quota)}`;
  } else {
    byTestId("storage-text").textContent = `Your storage: ${formatBytes(used)} (no limit)`;
  }
}

function renderList() {
  listEl.replaceChildren(...recordings.map(row));
  byTestId("recordings-empty").hidden = recordings.length > 0;
  moreButton.hidden = nextCursor === null;
}

/** One recording read again: stored, or dropped from the list when it is gone. */
async function reread(id) {
  try {
    store(await api("GET", `/api/recordings/${id}/`));
  } catch (err) {
    if (err.status !== 404) return fail(err);
    recordings = recordings.filter((r) => r.id !== id);
    renderList();
  }
}

/** The next page of older recordings, added at the end of the list. */
async function loadOlder() {
  const cursor = nextCursor;
  if (cursor === null) return;
  moreButton.disabled = true;
  try {
    const query = `?limit=${PAGE}&before=${encodeURIComponent(cursor)}`;
    const data = await api("GET", `/api/recordings/${query}`);
    // A newest-page reload meanwhile that found no older rows to keep moved the cursor
    // back to its own end: this page would then leave a gap above it.
    if (nextCursor !== cursor) return;
    const known = new Set(recordings.map((r) => r.id));
    recordings = recordings.concat(data.recordings.filter((r) => !known.has(r.id)));
    nextCursor = data.next;
    renderList();
    say(`${data.recordings.length} older recordings shown.`);
  } finally {
    moreButton.disabled = false;
  }
}

moreButton.addEventListener("click", () => loadOlder().catch(fail));

function row(rec) {
  const li = document.getElementById("tpl-recording").content.firstElementChild.cloneNode(true);
  li.dataset.recordingId = String(rec.id);
  li.querySelector('[data-testid="recording-select"]').addEventListener("click", () => {
    history.replaceState(null, "", `#${rec.id}`);
    select(rec.id, { focus: true });
  });
  updateRow(li, rec);
  return li;
}

/** Refresh one row in place (keeps focus and scroll). */
function updateRow(li, rec) {
  const field = (name) => li.querySelector(`[data-field="${name}"]`);
  li.dataset.status = rec.status;
  li.dataset.owner = rec.owner;
  li.classList.toggle("is-selected", rec.id === selectedId);
  const button = li.querySelector('[data-testid="recording-select"]');
  if (rec.id === selectedId) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
  field("title").textContent = rec.title;
  field("owner").textContent = rec.is_owner ? "you" : rec.owner;
  const date = field("date");
  date.textContent = formatDate(rec.created_at);
  date.dateTime = rec.created_at;
  field("duration").textContent = formatDuration(rec.duration);
  field("status").textContent = statusText(rec);
  field("status").classList.toggle("error-text", rec.status === "failed");
  const bar = li.querySelector('[data-testid="recording-progress"]');
  const open = jobIsOpen(rec.job);
  bar.hidden = !open;
  bar.value = open ? Number(rec.job.progress) || 0 : 0;
  bar.setAttribute("aria-label", `Cleaning progress of ${rec.title}`);
}

function refreshRow(rec) {
  const li = listEl.querySelector(`[data-recording-id="${rec.id}"]`);
  if (li) updateRow(li, rec);
}

/** Whether ``a`` comes before ``b`` in the list's order (newest first). */
function before(a, b) {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  return ta !== tb ? ta > tb : a.id > b.id;
}

/**
 * Replace one recording, or add it in its place among the pages loaded (one older than
 * all of them waits for its page: a link to an old recording opens it in the player only),
 * and update what shows it.
 */
function store(rec) {
  const at = recordings.findIndex((r) => r.id === rec.id);
  if (at >= 0) {
    recordings[at] = rec;
    refreshRow(rec);
  } else {
    const place = recordings.findIndex((r) => before(rec, r));
    if (place >= 0) recordings.splice(place, 0, rec);
    else if (nextCursor === null) recordings.push(rec);
    renderList();
  }
  if (rec.id === selectedId) showSelected(rec);
}

// ===== Selection and the player ========================================

const panel = document.getElementById("player-panel");
const player = createPlayer(panel, { onError: fail, say });
const owner = createOwnerTools(panel, {
  onUpdated: store,
  onDeleted: removed,
  onError: fail,
  say,
  loadSettings,
});

function loadSettings() {
  if (!settingsPromise) {
    settingsPromise = api("GET", "/api/streams/settings/").catch((err) => {
      settingsPromise = null;
      throw err;
    });
  }
  return settingsPromise;
}

function showSelected(rec) {
  player.show(rec);
  owner.render(rec);
}

/** Select a recording by id (fetched if it is not in the list yet). */
async function select(id, { focus = false } = {}) {
  clearError();
  selectedId = id;
  for (const rec of recordings) refreshRow(rec);
  let rec = find(id);
  if (!rec) {
    try {
      rec = await api("GET", `/api/recordings/${id}/`);
    } catch (err) {
      if (selectedId !== id) return;
      if (err.status === 404) err.message = "That recording does not exist or is not shared with you.";
      unselect();
      return fail(err);
    }
    if (selectedId !== id) return;
    store(rec);
  }
  showSelected(rec);
  if (focus) byTestId("player-title").focus({ preventScroll: false });
}

function unselect() {
  selectedId = null;
  player.clear();
  owner.render(null);
  for (const rec of recordings) refreshRow(rec);
}

function removed(id) {
  // The Delete button had the focus (it is disabled while the request runs, so the
  // focus may already be on <body>); it goes away with the player.
  const active = document.activeElement;
  const focusInPlayer = !active || active === document.body || panel.contains(active);
  recordings = recordings.filter((r) => r.id !== id);
  renderList();
  if (selectedId === id) {
    history.replaceState(null, "", window.location.pathname);
    unselect();
  }
  // Keyboard and screen-reader users continue from the list instead of the page's top.
  if (focusInPlayer && panel.hidden) document.getElementById("library-title").focus();
  loadList().catch(fail); // the storage use changed
}

function selectFromHash() {
  const id = Number.parseInt(window.location.hash.slice(1), 10);
  if (Number.isInteger(id) && id > 0) {
    if (id !== selectedId || !player.current()) select(id);
  } else if (selectedId !== null && !window.location.hash) {
    unselect();
  }
}

// ===== Live job progress ===============================================

const unlisted = new Set(); // recordings with job events that no loaded page held

function onJob(event) {
  const rec = find(event.recording_id);
  if (!rec) {
    // Once per recording (progress comes twice a second): an import started in another
    // tab is on the newest page; an older recording's re-clean waits for its page.
    if (unlisted.has(event.recording_id)) return;
    unlisted.add(event.recording_id);
    loadList().catch(fail);
    return;
  }
  const job = event.job;
  if (job.status === "done" || job.status === "failed") {
    refresh(rec.id, job);
    return;
  }
  store({ ...rec, job });
}

/** A job finished: re-read the recording (new audio, status, size) and the storage use. */
async function refresh(id, job) {
  try {
    const rec = await api("GET", `/api/recordings/${id}/`);
    store(rec);
    if (job.status === "done") say(`“${rec.title}” is ready.`);
    else fail(new Error(`Cleaning “${rec.title}” failed: ${job.error || "unknown error"}`));
    await loadList();
  } catch (err) {
    fail(err);
  }
}

const presence = connectPresence();
presence.on("open", () => loadList().catch(fail)); // (re)connected: resync
presence.on("recording_job", onJob);

// Friends' jobs (no events for us) and a closed socket: poll while something runs.
setInterval(() => {
  const waiting = recordings.some(
    (r) => (jobIsOpen(r.job) || r.status === "processing") && (!r.is_owner || !presence.connected)
  );
  if (waiting) loadList().catch(fail);
}, POLL_MS);

window.addEventListener("hashchange", selectFromHash);

initImport(byTestId("import-form"), {
  onImported: (rec) => {
    store(rec);
    history.replaceState(null, "", `#${rec.id}`);
    select(rec.id);
    loadList().catch(fail);
  },
  onError: fail,
  say,
});

const FIRST_LOAD_RETRY_MIN_MS = 2_000;
const FIRST_LOAD_RETRY_MAX_MS = 30_000;
let firstLoadError = null; // the message a failed first load put up, cleared once one works

/** The first load of the list, tried again (2 s doubling to 30 s) until the list has been
 *  shown once (by this or by the presence socket's reload): the poll above runs only for
 *  open jobs, and a page left saying "Loading…" helps nobody. A load overtaken by another
 *  resolves without showing anything, so the flag, not the promise, says it worked. */
function loadFirst(retryMs = FIRST_LOAD_RETRY_MIN_MS) {
  const again = () =>
    setTimeout(() => loadFirst(Math.min(retryMs * 2, FIRST_LOAD_RETRY_MAX_MS)), retryMs);
  loadList()
    .then(() => {
      if (!listLoaded) return again();
      if (firstLoadError !== null && errorEl.textContent === firstLoadError) clearError();
      firstLoadError = null;
    })
    .catch((err) => {
      fail(err);
      if (err && err.status === 401) return;
      if (listLoaded) return; // shown meanwhile by another load
      firstLoadError = errorEl.textContent;
      byTestId("recordings-loading").textContent = "Could not load the recordings; trying again…";
      again();
    });
}

bindLogout();
selectFromHash();
loadFirst();
