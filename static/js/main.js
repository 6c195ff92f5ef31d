// Main page: the friends panel (search, requests, friend list), kept live by
// the presence socket. #broadcast-panel lives in broadcast.js.
// Rendering rule: user-provided text only ever goes through textContent /
// attributes, never innerHTML. Rows are cloned from <template>s in main.html.

import { api, bindLogout, goToLogin, statusLine, timeAgo, byTestId } from "./api.js";
import {
  initBroadcast,
  onLiveEnded,
  onPresenceOpen,
  onRecordingQuota,
  onTelemetry,
} from "./broadcast.js";
import { connectPresence } from "./presence.js";

const SEARCH_DEBOUNCE_MS = 250;
const LAST_SEEN_REFRESH_MS = 30_000;
const STATUS_CLEAR_MS = 8_000;

const clone = (templateId) =>
  document.getElementById(templateId).content.firstElementChild.cloneNode(true);
const rowFor = (list, username) =>
  [...list.children].find((li) => li.dataset.username === username) || null;

// --- Page state (the server is the source of truth; these mirror its answers)
const friends = new Map(); // username -> {username, online, is_streaming, last_seen}
let incoming = []; // [{id, from_user, created_at}]
let outgoing = []; // [{id, to_user, created_at}]
const seq = { friends: 0, requests: 0, search: 0 }; // drop answers that arrive out of order

// --- Status line (aria-live); messages fade after a while
const statusEl = byTestId("status");
const say = statusLine(statusEl, STATUS_CLEAR_MS);
function fail(err) {
  // Logged out (here or in another tab): requests still in flight get 401.
  if (err && err.status === 401) return void goToLogin("/");
  console.error(err);
  say(err && err.message ? err.message : "Something went wrong.");
}

// ===== Friend list =====================================================

async function loadFriends() {
  const mine = ++seq.friends;
  const data = await api("GET", "/api/friends/");
  if (mine !== seq.friends) return;
  friends.clear();
  for (const f of data.friends) friends.set(f.username, { ...f });
  renderFriends();
}

function renderFriends() {
  const list = byTestId("friend-list");
  list.replaceChildren(...[...friends.values()].map(friendRow));
  byTestId("friends-empty").hidden = friends.size > 0;
  byTestId("friend-count").textContent = friends.size ? `(${friends.size})` : "";
}

function friendRow(friend) {
  const li = clone("tpl-friend");
  li.dataset.username = friend.username;
  const link = li.querySelector('[data-field="username"]');
  link.textContent = friend.username;
  link.href = `/u/${encodeURIComponent(friend.username)}/`;
  const unfriendButton = byTestId("unfriend-button", li);
  unfriendButton.setAttribute("aria-label", `Unfriend ${friend.username}`);
  unfriendButton.addEventListener("click", () => unfriend(friend.username, unfriendButton));
  updateFriendRow(li, friend);
  return li;
}

/** Refresh one row's badges in place (no re-render: keeps focus and scroll). */
function updateFriendRow(li, friend) {
  const online = byTestId("online-badge", li);
  online.dataset.online = String(Boolean(friend.online));
  online.textContent = friend.online ? "Online" : "Offline";
  const live = byTestId("live-badge", li);
  live.dataset.live = String(Boolean(friend.is_streaming));
  live.hidden = !friend.is_streaming;
  li.classList.toggle("is-live", Boolean(friend.is_streaming));
  byTestId("last-seen", li).textContent =
    !friend.online && friend.last_seen ? `last seen ${timeAgo(friend.last_seen)}` : "";
}

/** Apply a change from a socket event to a known friend (or reload if unknown). */
function patchFriend(username, changes) {
  const friend = friends.get(username);
  if (!friend) {
    loadFriends().catch(fail); // a friend we have not loaded yet
    return;
  }
  Object.assign(friend, changes);
  const li = rowFor(byTestId("friend-list"), username);
  if (li) updateFriendRow(li, friend);
}

async function unfriend(username, button) {
  if (!window.confirm(`Remove ${username} from your friends?`)) return;
  button.disabled = true;
  try {
    await api("DELETE", `/api/friends/${encodeURIComponent(username)}/`);
    friends.delete(username);
    renderFriends();
    say(`${username} is no longer your friend.`);
    refreshSearch();
  } catch (err) {
    button.disabled = false;
    fail(err);
  }
}

// ===== Friend requests =================================================

async function loadRequests() {
  const mine = ++seq.requests;
  const data = await api("GET", "/api/friends/requests/");
  if (mine !== seq.requests) return;
  incoming = data.incoming;
  outgoing = data.outgoing;
  renderRequests();
}

function renderRequests() {
  const inList = byTestId("incoming-requests");
  inList.replaceChildren(
    ...incoming.map((r) => requestRow("tpl-incoming", r.id, r.from_user, incomingActions))
  );
  byTestId("incoming-section").hidden = incoming.length === 0;
  byTestId("incoming-count").textContent = incoming.length ? `(${incoming.length})` : "";

  const outList = byTestId("outgoing-requests");
  outList.replaceChildren(
    ...outgoing.map((r) => requestRow("tpl-outgoing", r.id, r.to_user, outgoingActions))
  );
  byTestId("outgoing-section").hidden = outgoing.length === 0;
}

function requestRow(templateId, id, username, wire) {
  const li = clone(templateId);
  li.dataset.username = username;
  li.dataset.requestId = String(id);
  li.querySelector('[data-field="username"]').textContent = username;
  wire(li, id, username);
  return li;
}

function incomingActions(li, id, username) {
  const accept = byTestId("accept-button", li);
  const reject = byTestId("reject-button", li);
  accept.setAttribute("aria-label", `Accept friend request from ${username}`);
  reject.setAttribute("aria-label", `Reject friend request from ${username}`);
  const answer = async (verb, message) => {
    accept.disabled = reject.disabled = true;
    try {
      await api("POST", `/api/friends/requests/${id}/${verb}/`);
      dropRequest(id);
      say(message);
      if (verb === "accept") await loadFriends();
      refreshSearch();
    } catch (err) {
      fail(err);
      accept.disabled = reject.disabled = false; // usable again if the reload fails too
      loadRequests().catch(fail); // it may have been cancelled meanwhile
    }
  };
  accept.addEventListener("click", () => answer("accept", `You and ${username} are now friends.`));
  reject.addEventListener("click", () => answer("reject", `Request from ${username} rejected.`));
}

function outgoingActions(li, id, username) {
  const cancel = byTestId("cancel-button", li);
  cancel.setAttribute("aria-label", `Cancel friend request to ${username}`);
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      await api("DELETE", `/api/friends/requests/${id}/`);
      dropRequest(id);
      say(`Request to ${username} cancelled.`);
      refreshSearch();
    } catch (err) {
      fail(err);
      cancel.disabled = false; // usable again if the reload fails too
      loadRequests().catch(fail);
    }
  });
}

function dropRequest(id) {
  incoming = incoming.filter((r) => r.id !== id);
  outgoing = outgoing.filter((r) => r.id !== id);
  renderRequests();
}

// ===== User search =====================================================

const searchInput = byTestId("user-search-input");
const searchResults = byTestId("search-results");
let searchTimer = null;

searchInput.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => runSearch().catch(fail), SEARCH_DEBOUNCE_MS);
});

async function runSearch() {
  const query = searchInput.value.trim();
  const mine = ++seq.search;
  if (!query) {
    searchResults.replaceChildren();
    byTestId("search-empty").hidden = true;
    return;
  }
  const data = await api("GET", `/api/users/search/?q=${encodeURIComponent(query)}`);
  if (mine !== seq.search) return;
  searchResults.replaceChildren(...data.results.map(searchRow));
  byTestId("search-empty").hidden = data.results.length > 0;
}

/** Re-run the current search (relationship states changed). */
function refreshSearch() {
  if (searchInput.value.trim()) runSearch().catch(fail);
}

function searchRow(result) {
  const li = clone("tpl-search-result");
  li.dataset.username = result.username;
  li.querySelector('[data-field="username"]').textContent = result.username;
  const button = byTestId("add-friend-button", li);
  const theyAsked = incoming.some((r) => r.from_user === result.username);
  let state = "add";
  if (result.is_friend) state = "friends";
  else if (result.request_pending) state = theyAsked ? "accept" : "pending";
  setSearchButton(button, state, result.username);
  button.addEventListener("click", () => sendRequest(result.username, button));
  return li;
}

function setSearchButton(button, state, username) {
  const labels = { add: "Add friend", accept: "Accept", pending: "Pending", friends: "Friends" };
  button.dataset.state = state;
  button.textContent = labels[state];
  button.disabled = state === "pending" || state === "friends";
  button.classList.toggle("btn-primary", state === "add" || state === "accept");
  button.setAttribute("aria-label", `${labels[state]}: ${username}`);
}

async function sendRequest(username, button) {
  button.disabled = true;
  let sent = false; // once sent, the button shows Pending or Friends, which stay disabled
  try {
    // If they already asked us, the server accepts their request instead (200 "accepted").
    const result = await api("POST", "/api/friends/requests/", { to_user: username });
    sent = true;
    const accepted = result && result.status === "accepted";
    setSearchButton(button, accepted ? "friends" : "pending", username);
    say(accepted ? `You and ${username} are now friends.` : `Friend request sent to ${username}.`);
    await Promise.all([loadRequests(), accepted ? loadFriends() : null]);
  } catch (err) {
    fail(err);
    if (!sent) button.disabled = false; // usable again if the search fails too
    refreshSearch();
  }
}

// ===== Live updates ====================================================

function loadAll() {
  return Promise.all([loadFriends(), loadRequests()]).then(refreshSearch, fail);
}

const presence = connectPresence();
presence.on("open", loadAll); // (re)connected: resync anything we missed while away
presence.on("open", onPresenceOpen); // a failed settings load need not wait out its backoff
presence.on("presence", (ev) =>
  patchFriend(ev.username, { online: ev.online, last_seen: ev.last_seen ?? null })
);
presence.on("recording_quota", onRecordingQuota);
presence.on("telemetry", onTelemetry);
presence.on("live_ended", onLiveEnded);
presence.on("streaming_status", (ev) => patchFriend(ev.username, { is_streaming: ev.is_streaming }));
presence.on("friend_request", (ev) => {
  if (!incoming.some((r) => r.id === ev.id)) {
    incoming = [{ id: ev.id, from_user: ev.from_user, created_at: null }, ...incoming];
    renderRequests();
  }
  say(`${ev.from_user} sent you a friend request.`);
  refreshSearch();
});
presence.on("friend_request_closed", (ev) => {
  dropRequest(ev.id);
  loadRequests().catch(fail); // authoritative re-read
  refreshSearch();
});
presence.on("friendship", () => {
  loadFriends().catch(fail);
  refreshSearch();
});

// Keep "last seen 5 min ago" texts current.
setInterval(() => {
  const list = byTestId("friend-list");
  for (const friend of friends.values()) {
    const li = rowFor(list, friend.username);
    if (li) updateFriendRow(li, friend);
  }
}, LAST_SEEN_REFRESH_MS);

bindLogout();
initBroadcast();
loadAll();
