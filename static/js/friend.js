// Friend page /u/<name>/: the friend's online/live state, updated live.
// If you are not friends (or stop being friends), say so and hide #listen-panel,
// which the live-stream feature fills with its "Listen" button.

import { api, bindLogout, timeAgo, byTestId } from "./api.js";
import { initListen, listenEnded, listenLevel, onTelemetry, setLive } from "./listen.js";
import { connectPresence } from "./presence.js";


const card = byTestId("friend-card");
const username = card.dataset.username; // canonical spelling, from the server
const stateEl = byTestId("friend-state");
const statusEl = byTestId("status");
const listenPanel = document.getElementById("listen-panel");

let friend = null; // {username, online, is_streaming, last_seen} while friends
let loadSeq = 0;

function render() {
  const isFriend = friend !== null;
  card.dataset.friend = String(isFriend);
  stateEl.hidden = !isFriend;
  listenPanel.hidden = !isFriend;
  listenPanel.dataset.friend = String(isFriend);
  setLive(isFriend && friend.is_streaming);
  if (!isFriend) {
    statusEl.textContent = `You are not friends with ${username}. Send a request from the main page.`;
    return;
  }
  const online = byTestId("online-badge", stateEl);
  online.dataset.online = String(Boolean(friend.online));
  online.textContent = friend.online ? "Online" : "Offline";
  const live = byTestId("live-badge", stateEl);
  live.dataset.live = String(Boolean(friend.is_streaming));
  live.hidden = !friend.is_streaming;
  byTestId("last-seen", stateEl).textContent =
    !friend.online && friend.last_seen ? `last seen ${timeAgo(friend.last_seen)}` : "";
  if (friend.is_streaming) statusEl.textContent = `${username} is live now.`;
  else if (friend.online) statusEl.textContent = `${username} is online.`;
  else statusEl.textContent = `${username} is offline.`;
}

/** Re-read the friend list and find this friend in it (case-insensitive). */
async function load() {
  const mine = ++loadSeq;
  try {
    const data = await api("GET", "/api/friends/");
    if (mine !== loadSeq) return;
    const wanted = username.toLowerCase();
    friend = data.friends.find((f) => f.username.toLowerCase() === wanted) || null;
    render();
  } catch (err) {
    console.error(err);
    statusEl.textContent = err.message;
  }
}

const isThisFriend = (ev) => ev.username && ev.username.toLowerCase() === username.toLowerCase();

const presence = connectPresence();
presence.on("open", load); // (re)connected: resync
presence.on("presence", (ev) => {
  if (!isThisFriend(ev) || !friend) return;
  friend.online = ev.online;
  friend.last_seen = ev.last_seen ?? friend.last_seen;
  render();
});
presence.on("streaming_status", (ev) => {
  if (!isThisFriend(ev) || !friend) return;
  friend.is_streaming = ev.is_streaming;
  render();
});
presence.on("listen_ended", (ev) => {
  if (isThisFriend(ev)) listenEnded(ev);
});
presence.on("listen_level", (ev) => {
  if (isThisFriend(ev)) listenLevel(ev);
});
presence.on("telemetry", (ev) => {
  if (isThisFriend(ev)) onTelemetry(ev);
});
presence.on("friendship", (ev) => {
  if (isThisFriend(ev)) load();
});

setInterval(() => friend && !friend.online && render(), 30_000); // refresh "last seen"

bindLogout();
initListen();
load();
