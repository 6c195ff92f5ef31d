// Friend page #listen-panel: "Listen" while the friend is live, "Stop listening",
// an <audio> player; when the friend stops, the player stops and says "ended".
// friend.js owns the panel's visibility (friends only) and calls setLive().

import { api, byTestId } from "./api.js";
import { listen } from "./webrtc_client.js";

const panel = document.getElementById("listen-panel");
const q = (id) => byTestId(id, panel);
const listenButton = q("listen");
const stopButton = q("stop-listen");
const audioEl = q("listen-audio");
const statusEl = q("listen-status");
const username = panel.dataset.username;

let isLive = false;
let player = null; // the listen() handle while listening
let connecting = false;
let lostAt = 0; // when the connection last dropped while listening

function status(text, state) {
  statusEl.textContent = text;
  statusEl.dataset.state = state;
}

function render() {
  panel.dataset.live = String(isLive);
  listenButton.disabled = !isLive || connecting;
  listenButton.hidden = Boolean(player);
  stopButton.hidden = !player;
  audioEl.hidden = !player;
}

function endPlayer() {
  if (!player) return;
  const handle = player;
  player = null;
  window.__fc25ListenStream = null;
  handle.stop();
}

async function start() {
  if (!isLive || player || connecting) return;
  connecting = true;
  status("Connecting…", "connecting");
  render();
  try {
    player = await listen(username, audioEl, {
      onState: (state) => {
        if (state === "connected") status(`Listening to ${username}.`, "playing");
        else if ((state === "failed" || state === "closed") && player) {
          lostAt = Date.now();
          endPlayer();
          status("The connection was lost.", "error");
          render();
        }
      },
    });
    window.__fc25ListenStream = player.stream; // test hook: the received audio
    if (player.pc.connectionState === "connected") status(`Listening to ${username}.`, "playing");
  } catch (err) {
    console.error(err);
    status(err.message || "Could not start listening.", "error");
  } finally {
    connecting = false;
    render();
  }
}

function stop() {
  endPlayer();
  status(isLive ? `${username} is live.` : "Not live right now.", "idle");
  render();
}

/** Update the friend's live state (from presence events or the friend list). */
export function setLive(live) {
  live = Boolean(live);
  if (live === isLive) return;
  isLive = live;
  const justLost = Date.now() - lostAt < 10_000; // the stream's end reached us first
  if (!live && (player || connecting || justLost)) {
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
  window.addEventListener("pagehide", endPlayer);
  render();
  api("GET", "/api/streams/active/")
    .then((data) => {
      const wanted = username.toLowerCase();
      if (data.streams.some((s) => s.username.toLowerCase() === wanted)) setLive(true);
    })
    .catch((err) => console.warn("active streams not loaded", err));
}
