// Main page #broadcast-panel: Go live / Stop, mic level meter, noise-removal
// strength (atten_lim_db 6..100, 100 = "max"), the "record raw microphone
// audio" setting (record_raw), elapsed time, listener count, and after Stop a
// link to the new recording (/recordings/#<id>).

import { api, ApiError, byTestId } from "./api.js";
import { telemetryMeter } from "./telemetry.js";
import { startBroadcast } from "./webrtc_client.js";

const SETTINGS_DEBOUNCE_MS = 50;
const POLL_MS = 2_000;
const MAX_ATTEN = 100;

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
let me = null; // our username (to find our own stream in /api/streams/active/)
let startedAt = 0;
let clock = null;
let poll = null;
let settingsTimer = null;
let metering = false; // the meter follows the mic from Go live until Stop

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

function setLive(isLive) {
  panel.dataset.live = String(isLive);
  goButton.hidden = isLive;
  stopButton.hidden = !isLive;
  liveBadge.hidden = !isLive;
  clearInterval(clock);
  clearInterval(poll);
  if (isLive) {
    startedAt = Date.now();
    elapsedEl.textContent = "0:00";
    clock = setInterval(() => (elapsedEl.textContent = formatElapsed(Date.now() - startedAt)), 500);
    poll = setInterval(pollListeners, POLL_MS);
    pollListeners();
  } else {
    meter.value = 0;
  }
}

async function pollListeners() {
  if (!live) return;
  try {
    const data = await api("GET", "/api/streams/active/");
    const mine = data.streams.find((s) => me && s.username.toLowerCase() === me.toLowerCase());
    if (mine && live) listenersEl.textContent = String(mine.listeners);
  } catch (err) {
    console.warn("listener poll failed", err);
  }
}

async function goLive() {
  showError(null);
  lastRecording.hidden = true;
  metering = true;
  goButton.disabled = true;
  goButton.textContent = "Connecting…";
  try {
    live = await startBroadcast({
      onLevel: (rms) => {
        if (metering) meter.value = Math.min(1, rms * 4); // not after Stop
      },
      onState: (state) => {
        panel.dataset.connection = state;
        if (live && (state === "failed" || state === "closed")) {
          showError(new Error("The connection to the server was lost."));
          endLive();
        }
      },
    });
    window.__fc25MicStream = live.stream; // test/bench hook: the raw mic
    listenersEl.textContent = "0";
    setLive(true);
  } catch (err) {
    live = null;
    metering = false;
    meter.value = 0;
    showError(err);
  } finally {
    goButton.disabled = false;
    goButton.textContent = "Go live";
  }
}

/** Stop the broadcast; resolves to the server's stop answer (or null). */
async function endLive() {
  const handle = live;
  if (!handle) return null;
  live = null;
  metering = false;
  stopButton.disabled = true;
  setLive(false);
  telemetry.reset();
  try {
    return await handle.stop();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) showError(err); // 409: already ended
    return null;
  } finally {
    stopButton.disabled = false;
  }
}

/** Stop button: end the stream, then link to the recording it made. */
async function onStop() {
  const result = await endLive();
  if (result && result.recording_id) {
    const link = q("last-recording-link");
    link.href = `/recordings/#${encodeURIComponent(result.recording_id)}`;
    lastRecording.hidden = false;
  }
}

/** A settings checkbox (`record_raw`, `share_raw`, `low_latency`): PATCH on change, reverted
 * on failure. */
async function onFlag(box, name) {
  const wanted = box.checked;
  box.disabled = true;
  try {
    const prefs = await api("PATCH", "/api/streams/settings/", { [name]: wanted });
    box.checked = typeof prefs[name] === "boolean" ? prefs[name] : wanted;
  } catch (err) {
    box.checked = !wanted;
    showError(err);
  } finally {
    box.disabled = false;
  }
}

function onSlider() {
  renderStrength();
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(async () => {
    try {
      await api("PATCH", "/api/streams/settings/", { atten_lim_db: Number(slider.value) });
    } catch (err) {
      showError(err);
    }
  }, SETTINGS_DEBOUNCE_MS);
}

async function loadInitial() {
  try {
    const [who, prefs] = await Promise.all([
      api("GET", "/api/auth/me/"),
      api("GET", "/api/streams/settings/"),
    ]);
    me = who.username;
    slider.value = String(Math.round(prefs.atten_lim_db));
    renderStrength();
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
  } catch (err) {
    console.warn("broadcast settings not loaded", err);
  }
}

/** A `recording_quota` presence event: the live recording nears (or reached) the quota. */
export function onRecordingQuota(ev) {
  if (!panel) return;
  const mb = (bytes) => `${Math.round(bytes / (1024 * 1024))} MB`;
  if (ev.state === "warning") {
    errorEl.textContent =
      `Your recordings are at ${mb(ev.used_bytes)} of your ${mb(ev.quota_bytes)} quota: ` +
      "the stream ends when it is full.";
  } else if (ev.state === "full") {
    errorEl.textContent =
      "Your recordings quota is full: the stream was ended and its recording saved.";
    endLive();
  }
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
  window.addEventListener("pagehide", () => live && endLive());
  renderStrength();
  loadInitial();
}
