// Friend page #listen-panel: "Listen" while the friend is live, "Stop listening",
// an <audio> player; when the friend stops, the player stops and says "ended".
// friend.js owns the panel's visibility (friends only) and calls setLive() and,
// for the server's "listen_ended" events, listenEnded(): the player stops and
// [data-testid="listen-ended"] (outside the panel, so it stays visible after an
// unfriend hides the panel) says why.

import { api, byTestId } from "./api.js";
import { telemetryMeter, watchInbound } from "./telemetry.js";
import { listen } from "./webrtc_client.js";

const panel = document.getElementById("listen-panel");
const q = (id) => byTestId(id, panel);
const listenButton = q("listen");
const stopButton = q("stop-listen");
const audioEl = q("listen-audio");
const statusEl = q("listen-status");
const endedEl = byTestId("listen-ended");
const levelSelect = q("listen-level");
const telemetry = telemetryMeter(q("telemetry"));
const username = panel.dataset.username;

// Why the server ended a listen ("listen_ended" reasons, API.md).
const ENDED_TEXT = {
  not_friends: "The stream is no longer available: you are no longer friends.",
  logged_out: "The stream is no longer available: you were logged out.",
  replaced: "The stream is no longer available here: you are listening in another tab or window.",
  ended: "The stream ended.",
};

let isLive = false;
let player = null; // the listen() handle while listening
let connecting = false;
let lostAt = 0; // when the connection last dropped while listening
let lastListenId = null; // the latest listen's id: its "listen_ended" may follow its end
// While connecting: what ended meanwhile. The stream's end (and the server's "listen_ended"
// for the new listen, whose id we do not know yet) can arrive before the offer's answer.
let attempt = null; // {ended: boolean, endedListens: Map<listenId, reason>}
let stopStats = null; // stops the getStats poll while listening
let switching = false; // a level change (PATCH) is on its way: the select waits for its answer

function status(text, state) {
  statusEl.textContent = text;
  statusEl.dataset.state = state;
}

function render() {
  panel.dataset.live = String(isLive);
  listenButton.disabled = !isLive || connecting;
  // The answer (of the offer, or of a level change) says which level is playing.
  levelSelect.disabled = connecting || switching;
  listenButton.hidden = Boolean(player);
  stopButton.hidden = !player;
  audioEl.hidden = !player;
}

/** Stop playing; `tellServer` (the user's own Stop) also ends the listen on the server. */
function endPlayer(tellServer = false) {
  if (!player) return;
  const handle = player;
  player = null;
  window.__fc25ListenStream = null;
  if (stopStats) stopStats();
  stopStats = null;
  telemetry.reset();
  handle.stop(tellServer);
}

/** The level select changed: used by the next listen, or switched live on this one. The
 * select stays disabled until the server answers, even if the listen ends meanwhile; an
 * answer about a listen that has ended leaves the select (the next listen's) as it is. */
async function onLevel() {
  const wanted = levelSelect.value;
  if (!player || switching) return;
  const handle = player;
  const previous = handle.level;
  switching = true;
  render();
  try {
    await handle.setLevel(wanted);
    if (handle === player) levelSelect.dataset.applied = wanted;
  } catch (err) {
    console.error(err);
    if (handle === player) {
      levelSelect.value = previous;
      status(err.message || "Could not switch.", "playing");
    }
  } finally {
    switching = false;
    render();
  }
}

/** The server moved our listen to another level ("listen_level", e.g. raw no longer shared). */
export function listenLevel(event) {
  if (!player || event.listen_id !== player.listenId) return;
  player.level = event.level;
  levelSelect.value = event.level;
  levelSelect.dataset.applied = event.level;
}

/** A "telemetry" event about the stream we listen to. */
export function onTelemetry(event) {
  if (player && event.username.toLowerCase() === username.toLowerCase()) telemetry.update(event);
}

async function start() {
  if (!isLive || player || connecting) return;
  connecting = true;
  const mine = { ended: false, endedListens: new Map() };
  attempt = mine;
  showEnded("");
  status("Connecting…", "connecting");
  render();
  let handle = null;
  try {
    handle = await listen(username, audioEl, {
      level: levelSelect.value,
      onState: (state) => {
        if (!handle || handle !== player) return; // not (or no longer) the playing one
        if (state === "connected") status(`Listening to ${username}.`, "playing");
        else if (state === "failed" || state === "closed") {
          lostAt = Date.now();
          endPlayer();
          status("The connection was lost.", "error");
          render();
        }
      },
    });
    const reason = mine.endedListens.get(handle.listenId);
    if (reason || mine.ended || !isLive) {
      handle.stop(false); // a dead stream: the server already dropped this listen
      if (reason) showListenEnded(reason);
      else status("The stream ended.", "ended");
      return;
    }
    player = handle;
    lastListenId = player.listenId;
    levelSelect.value = player.level; // the server may have chosen another (raw not shared)
    levelSelect.dataset.applied = player.level;
    stopStats = watchInbound(player.pc, (stats) => telemetry.network(stats));
    window.__fc25ListenStream = player.stream; // test hook: the received audio
    if (player.pc.connectionState === "connected") status(`Listening to ${username}.`, "playing");
  } catch (err) {
    if (mine.ended || !isLive) {
      // The refusal ("not live") only echoes the end we already showed.
      console.warn(err);
      status("The stream ended.", "ended");
    } else {
      console.error(err);
      status(err.message || "Could not start listening.", "error");
    }
  } finally {
    attempt = null;
    connecting = false;
    render();
  }
}

function stop() {
  lastListenId = null; // its "listen_ended" (reason "stopped") is ours: nothing to show
  endPlayer(true);
  status(isLive ? `${username} is live.` : "Not live right now.", "idle");
  render();
}

function showEnded(text, reason = "") {
  if (!endedEl) return;
  endedEl.textContent = text;
  endedEl.dataset.reason = reason;
  endedEl.hidden = !text;
}

function showListenEnded(reason) {
  const text = ENDED_TEXT[reason] || "The stream is no longer available.";
  status(text, "ended");
  showEnded(text, reason);
}

/** The server ended one of our listens ("listen_ended"); ignored unless it is this page's. */
export function listenEnded(event) {
  if (!event.listen_id || event.reason === "stopped") return; // "stopped": our own Stop
  if (event.listen_id !== lastListenId) {
    // Maybe the listen being connected (its id comes with the answer): start() checks.
    if (attempt) attempt.endedListens.set(event.listen_id, event.reason);
    return;
  }
  lastListenId = null;
  endPlayer();
  showListenEnded(event.reason);
  render();
}

/** Update the friend's live state (from presence events or the friend list). */
export function setLive(live) {
  live = Boolean(live);
  if (live === isLive) return;
  isLive = live;
  const justLost = Date.now() - lostAt < 10_000; // the stream's end reached us first
  if (!live && (player || connecting || justLost)) {
    if (attempt) attempt.ended = true; // start() drops the listen it is connecting
    endPlayer();
    status(`The stream ended.`, "ended");
  } else if (!live) {
    if (statusEl.dataset.state !== "ended") status("Not live right now.", "idle");
  } else if (!player) {
    status(`${username} is live.`, "idle");
  }
  render();
}

/** Wire the panel (called once by friend.js). */
export function initListen() {
  if (!panel) return;
  listenButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  levelSelect.addEventListener("change", onLevel);
  // Reset the panel too: a page restored from the back/forward cache shows what it had
  // when hidden, and a "Stop listening" with nothing connected would be a lie.
  window.addEventListener("pagehide", () => {
    if (!player) return;
    lastListenId = null; // a restored page has nothing to learn about this listen
    endPlayer();
    status(isLive ? `${username} is live.` : "Not live right now.", "idle");
    render();
  });
  render();
  api("GET", "/api/streams/active/")
    .then((data) => {
      const wanted = username.toLowerCase();
      if (data.streams.some((s) => s.username.toLowerCase() === wanted)) setLive(true);
    })
    .catch((err) => console.warn("active streams not loaded", err));
}
