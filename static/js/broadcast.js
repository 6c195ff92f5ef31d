// Main page #broadcast-panel: Go live / Stop, mic level meter, noise-removal
// strength (atten_lim_db 6..100, 100 = "max"), the "record raw microphone
// audio" setting (record_raw), elapsed time, listener count, and after Stop a
// link to the new recording (/recordings/#<id>).

import { api, ApiError, byTestId, onBeforeLogout } from "./api.js";
import { telemetryMeter } from "./telemetry.js";
import { startBroadcast } from "./webrtc_client.js";

const SETTINGS_DEBOUNCE_MS = 50;
const POLL_MS = 2_000;
const MAX_ATTEN = 100;
// Polls in a row that must miss our stream before the page believes the server ended it:
// one answer could still predate the stream (or come from a lagging replica).
const MISSING_POLLS_TO_END = 2;
const LOAD_RETRY_MIN_MS = 1_000;
const LOAD_RETRY_MAX_MS = 30_000;
const LOAD_ERROR = "Your broadcast settings could not be loaded. Retrying…";
const ENDED_TEXT = "Your stream ended.";

const panel = document.getElementById("broadcast-panel");
const q = (id) => byTestId(id, panel);
const goButton = q("go-live");
const stopButton = q("stop-live");
const liveBadge = q("broadcast-live-badge");
const meter = q("level-meter");
const slider = q("strength-slider");
const strengthValue = q("strength-value");
const elapsedEl = q("elapsed");
const listenersEl = q("listener-count");
const errorEl = q("broadcast-error");
const recordRaw = q("record-raw");
const shareRaw = q("share-raw");
const lowLatency = q("low-latency");
const telemetry = telemetryMeter(q("telemetry"));
const lastRecording = q("last-recording");

let live = null; // the startBroadcast() handle while live
let endedSessionId = null; // a stream this page let go of before the server said it ended
let me = null; // our username (to find our own stream in /api/streams/active/)
let startedAt = 0;
let clock = null;
let poll = null;
let settingsTimer = null;
let metering = false; // the meter follows the mic from Go live until Stop
let missingPolls = 0; // listener polls in a row that did not list our stream
let loadTimer = null; // the next settings load after a failed one
let loadRetryMs = LOAD_RETRY_MIN_MS;
let confirmedAtten = null; // atten_lim_db as the server last confirmed it
let confirmedSeq = 0; // which strength change confirmedAtten answers
let attenSeq = 0; // numbers the strength changes: a later one makes earlier answers stale

function showError(err) {
  if (!err) {
    errorEl.textContent = "";
    return;
  }
  console.error(err);
  let text = err.message || "Something went wrong.";
  if (err instanceof ApiError && err.status === 429 && !/try|later/i.test(text))
    text += " Please try again later.";
  errorEl.textContent = text;
}

function strengthLabel(value) {
  return Number(value) >= MAX_ATTEN ? "max" : `${value} dB`;
}

function renderStrength() {
  strengthValue.textContent = strengthLabel(slider.value);
  slider.setAttribute("aria-valuetext", strengthLabel(slider.value));
}

function formatElapsed(ms) {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function setGoButton(text, disabled) {
  goButton.textContent = text;
  goButton.disabled = disabled;
}

function setLive(isLive) {
  panel.dataset.live = String(isLive);
  goButton.hidden = isLive;
  stopButton.hidden = !isLive;
  liveBadge.hidden = !isLive;
  clearInterval(clock);
  clearInterval(poll);
  if (isLive) {
    startedAt = Date.now();
    missingPolls = 0;
    elapsedEl.textContent = "0:00";
    clock = setInterval(() => (elapsedEl.textContent = formatElapsed(Date.now() - startedAt)), 500);
    poll = setInterval(pollListeners, POLL_MS);
    pollListeners();
  } else {
    meter.value = 0;
  }
}

async function pollListeners() {
  const handle = live;
  if (!handle) return;
  let data;
  try {
    data = await api("GET", "/api/streams/active/");
  } catch (err) {
    console.warn("listener poll failed", err);
    return;
  }
  // Stopped or restarted meanwhile; or our name is unknown (settings not loaded yet), so
  // a missing stream would prove nothing.
  if (live !== handle || !me) return;
  const mine = data.streams.find((s) => s.username.toLowerCase() === me.toLowerCase());
  if (mine) {
    missingPolls = 0;
    listenersEl.textContent = String(mine.listeners);
    return;
  }
  // The server ended it and its `live_ended` event was missed (the socket was down): without
  // this the panel would say "Live" until ICE gives up, about 30 s later.
  missingPolls += 1;
  if (missingPolls < MISSING_POLLS_TO_END) return;
  await endLive({ tellServer: false });
  errorEl.textContent = ENDED_TEXT;
}

async function goLive() {
  endedSessionId = null; // an earlier stream's link no longer belongs on this panel
  showError(null);
  lastRecording.hidden = true;
  metering = true;
  setGoButton("Connecting…", true);
  let handle = null; // this attempt's connection, once it is up
  try {
    handle = await startBroadcast({
      onLevel: (rms) => {
        if (metering) meter.value = Math.min(1, rms * 4); // not after Stop
      },
      onState: (state) => {
        // Only news of the current connection counts (while connecting, both are null):
        // a stopped one's late "failed" must not end the stream that replaced it.
        if (handle !== live) return;
        panel.dataset.connection = state;
        if (live && (state === "failed" || state === "closed")) {
          showError(new Error("The connection to the server was lost."));
          endLive();
        }
      },
    });
    live = handle;
    window.__fc25MicStream = live.stream; // test/bench hook: the raw mic
    listenersEl.textContent = "0";
    setLive(true);
  } catch (err) {
    live = null;
    metering = false;
    meter.value = 0;
    showError(err);
  } finally {
    setGoButton("Go live", false);
  }
}

/**
 * Stop the broadcast; resolves to the server's stop answer (or null).
 * `keepalive`: the page is going away. `tellServer` false: the server already ended it.
 */
async function endLive({ keepalive = false, tellServer = true } = {}) {
  const handle = live;
  if (!handle) return null;
  live = null;
  metering = false;
  setLive(false);
  telemetry.reset();
  // The server frees the stream only after saving its recording: a Go live before the
  // stop has answered would be refused with "You are already live".
  setGoButton("Saving…", true);
  try {
    return await handle.stop({ keepalive, tellServer });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) showError(err); // 409: already ended
    return null;
  } finally {
    setGoButton("Go live", false);
  }
}

/** Link to the recording a stream made (none: nothing was recorded, or it is not saved yet). */
function showRecording(recordingId) {
  if (recordingId === null || recordingId === undefined) return;
  const link = q("last-recording-link");
  link.href = `/recordings/#${encodeURIComponent(recordingId)}`;
  lastRecording.hidden = false;
}

/** Stop button: end the stream, then link to the recording it made. */
async function onStop() {
  const result = await endLive();
  if (result) showRecording(result.recording_id);
}

/** The stored settings, or null if they cannot be read. After a failed PATCH they say what
 * was kept: a 503 means the change is stored but the live stream did not confirm it yet. */
async function storedSettings() {
  try {
    return await api("GET", "/api/streams/settings/");
  } catch {
    return null;
  }
}

/** A settings checkbox (`record_raw`, `share_raw`, `low_latency`): PATCH on change; on failure
 * it shows the stored value (reverted if that cannot be read). */
async function onFlag(box, name) {
  const wanted = box.checked;
  box.disabled = true;
  try {
    const prefs = await api("PATCH", "/api/streams/settings/", { [name]: wanted });
    box.checked = typeof prefs[name] === "boolean" ? prefs[name] : wanted;
  } catch (err) {
    const stored = await storedSettings();
    box.checked = stored && typeof stored[name] === "boolean" ? stored[name] : !wanted;
    showError(err);
  } finally {
    box.disabled = false;
  }
}

function onSlider() {
  renderStrength();
  clearTimeout(settingsTimer);
  const seq = ++attenSeq; // counted at once: a newer move makes a pending answer stale
  settingsTimer = setTimeout(() => sendStrength(seq), SETTINGS_DEBOUNCE_MS);
}

/** PATCH the slider's value; a failure puts the slider on the stored value (the confirmed one
 * if that cannot be read). */
async function sendStrength(seq) {
  try {
    const prefs = await api("PATCH", "/api/streams/settings/", {
      atten_lim_db: Number(slider.value),
    });
    // PATCHes may answer out of order: keep the newest confirmation.
    if (seq > confirmedSeq) {
      confirmedSeq = seq;
      confirmedAtten = Math.round(prefs.atten_lim_db);
    }
  } catch (err) {
    if (seq !== attenSeq) return; // the user moved on: the newer change decides
    const stored = await storedSettings();
    if (seq !== attenSeq) return;
    if (stored && typeof stored.atten_lim_db === "number") {
      confirmedSeq = seq;
      confirmedAtten = Math.round(stored.atten_lim_db);
    }
    if (confirmedAtten !== null) {
      slider.value = String(confirmedAtten);
      renderStrength();
    }
    showError(err);
  }
}

/** Our name and the settings; retried with backoff (the checkboxes stay disabled until then). */
async function loadInitial() {
  clearTimeout(loadTimer);
  loadTimer = null;
  let who;
  let prefs;
  try {
    [who, prefs] = await Promise.all([
      api("GET", "/api/auth/me/"),
      api("GET", "/api/streams/settings/"),
    ]);
  } catch (err) {
    console.warn("broadcast settings not loaded", err);
    if (!errorEl.textContent) errorEl.textContent = LOAD_ERROR;
    loadTimer = setTimeout(loadInitial, loadRetryMs);
    loadRetryMs = Math.min(loadRetryMs * 2, LOAD_RETRY_MAX_MS);
    return;
  }
  loadRetryMs = LOAD_RETRY_MIN_MS;
  if (errorEl.textContent === LOAD_ERROR) showError(null);
  me = who.username;
  if (attenSeq === 0) {
    // Not when the user already moved it: that change is on its way.
    confirmedAtten = Math.round(prefs.atten_lim_db);
    slider.value = String(confirmedAtten);
    renderStrength();
  }
  for (const [box, name] of [
    [recordRaw, "record_raw"],
    [shareRaw, "share_raw"],
    [lowLatency, "low_latency"],
  ]) {
    if (typeof prefs[name] === "boolean") {
      box.checked = prefs[name];
      box.disabled = false;
    }
  }
}

/** The presence socket (re)opened: the server is reachable, so a pending retry runs now. */
export function onPresenceOpen() {
  if (!panel || !loadTimer) return;
  loadRetryMs = LOAD_RETRY_MIN_MS;
  loadInitial();
}

/** A `recording_quota` presence event: the live recording nears (or reached) the quota. */
export function onRecordingQuota(ev) {
  // Another tab's stream (or one this page no longer runs) is not this page's to warn of.
  if (!panel || !live || live.sessionId !== ev.session_id) return;
  const mb = (bytes) => `${Math.round(bytes / (1024 * 1024))} MB`;
  if (ev.state === "warning") {
    errorEl.textContent =
      `Your recordings are at ${mb(ev.used_bytes)} of your ${mb(ev.quota_bytes)} quota: ` +
      "the stream ends when it is full.";
  } else if (ev.state === "full") {
    errorEl.textContent =
      "Your recordings quota is full: the stream was ended and its recording saved.";
    // The server ends it: its live_ended brings the recording, matched by endedSessionId.
    endedSessionId = live.sessionId;
    endLive({ tellServer: false });
  }
}

/** A `live_ended` presence event: the server ended one of our streams (a Stop in another
 * tab, a shutdown, the media timeout). Only the stream this page runs counts: its own Stop
 * has already let go of it, and another tab's stream is not ours to end. */
export async function onLiveEnded(ev) {
  if (!panel) return;
  if (!live && ev.session_id === endedSessionId) {
    endedSessionId = null;
    showRecording(ev.recording_id); // a stream the page let go of first (the quota)
    return;
  }
  if (!live || live.sessionId !== ev.session_id) return;
  await endLive({ tellServer: false });
  errorEl.textContent = ENDED_TEXT;
  showRecording(ev.recording_id);
}

/** A `telemetry` presence event: our own stream's figures feed the meter. */
export function onTelemetry(ev) {
  if (!panel || !live || ev.username !== me) return;
  telemetry.update(ev);
}

/** Wire the panel (called once by main.js). */
export function initBroadcast() {
  if (!panel) return;
  goButton.addEventListener("click", goLive);
  stopButton.addEventListener("click", onStop);
  recordRaw.addEventListener("change", () => onFlag(recordRaw, "record_raw"));
  shareRaw.addEventListener("change", () => onFlag(shareRaw, "share_raw"));
  lowLatency.addEventListener("change", () => onFlag(lowLatency, "low_latency"));
  slider.addEventListener("input", onSlider);
  // keepalive: an ordinary fetch may be cancelled with the page, leaving the stream live.
  window.addEventListener("pagehide", () => live && endLive({ keepalive: true }));
  // Its stop must go while still logged in, and outlive the navigation to the login page
  // (the server answers once the recording is saved, which can take longer than the wait).
  onBeforeLogout(() => live && endLive({ keepalive: true }));
  renderStrength();
  loadInitial();
}
