// Shared WebRTC client for the live path (contract: API.md, "Live streams").
//
//   import { startBroadcast, listen } from "./webrtc_client.js";
//   const live = await startBroadcast({ onLevel: (rms) => ..., onState: (s) => ... });
//   live.level();            // current mic RMS (0..1)
//   await live.stop();       // -> {recording_id, duration}
//
//   const player = await listen("alice", audioEl, { onState });  // call from a click
//   player.listenId;         // this connection's id, as in "listen_ended" events
//   player.stop();
//
// No trickle ICE: we wait for ICE gathering to complete before posting the
// offer, and the server answers with its complete candidate list.

import { api } from "./api.js";

const ICE_GATHER_TIMEOUT_MS = 5_000;

/**
 * This user's RTCPeerConnection configuration: STUN and short-lived TURN servers and the
 * transport policy ("relay" when the server forces media through TURN), fetched for every
 * connection because the TURN credential expires. Fails rather than connect without them.
 */
async function peerConfig() {
  const ice = await api("GET", "/api/webrtc/ice-servers/");
  return { iceServers: ice.iceServers, iceTransportPolicy: ice.iceTransportPolicy };
}

// The server's noise model must see the raw microphone signal.
const MIC_CONSTRAINTS = {
  audio: {
    echoCancellation: false,
    noiseSuppression: false,
    autoGainControl: false,
    channelCount: 1,
  },
  video: false,
};

/** Resolve once ICE gathering is complete (or after a timeout: use what we have). */
function iceGatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, ICE_GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

/** Create the offer, gather all candidates, POST it to `path`, apply the answer. */
async function negotiate(pc, path, extra = {}, undo = () => {}) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await iceGatheringComplete(pc);
  const local = pc.localDescription;
  const answer = await api("POST", path, { sdp: local.sdp, type: local.type, ...extra });
  try {
    await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
  } catch (err) {
    // The server has started the stream (or the listen) for an answer this browser cannot
    // use: end it now, or it stays up, slot taken, until its connection times out. Awaited,
    // so a retry (Go live again) cannot race the stop of the stream it replaces.
    await undo(answer);
    throw err;
  }
  return answer;
}

/** How long a level change may wait for its answer (the server answers once the stream's
 *  process applied it, at most a forwarded call's few seconds); the select waits for it. */
const LEVEL_TIMEOUT_MS = 15_000;

/** The route of one listen (its level, its end). */
function listenPath(listenId) {
  return `/api/webrtc/listen/${encodeURIComponent(listenId)}/`;
}

function watchState(pc, onState) {
  if (!onState) return;
  pc.addEventListener("connectionstatechange", () => onState(pc.connectionState));
}

/** A mic level meter: an AnalyserNode RMS, pushed to `onLevel` every animation frame. */
function levelMeter(stream, onLevel) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return { level: () => 0, close() {} };
  const ctx = new Ctx();
  const source = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let raf = 0;
  let closed = false;
  const level = () => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
    return Math.sqrt(sum / buf.length);
  };
  const tick = () => {
    if (closed) return;
    if (onLevel) onLevel(level());
    raf = requestAnimationFrame(tick);
  };
  ctx.resume().catch(() => {});
  raf = requestAnimationFrame(tick);
  return {
    level,
    close() {
      closed = true;
      cancelAnimationFrame(raf);
      source.disconnect();
      ctx.close().catch(() => {});
    },
  };
}

/** A friendly sentence for getUserMedia failures. */
function micError(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError")
    return new Error("Microphone access was denied. Allow it in the browser to go live.");
  if (name === "NotFoundError" || name === "OverconstrainedError")
    return new Error("No microphone was found.");
  if (name === "NotReadableError") return new Error("The microphone is in use by another app.");
  return err instanceof Error ? err : new Error("Could not open the microphone.");
}

/**
 * Go live: open the mic, send it to the server, return a handle.
 * @param {{onLevel?: (rms:number)=>void, onState?: (state:string)=>void}} [opts]
 */
export async function startBroadcast({ onLevel, onState } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This browser cannot capture audio (a secure https page is required).");
  }
  const config = peerConfig();
  config.catch(() => {}); // awaited below, once the microphone is open
  let mic;
  try {
    mic = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
  } catch (err) {
    throw micError(err);
  }
  const stopTracks = () => mic.getTracks().forEach((t) => t.stop());
  let pc;
  try {
    pc = new RTCPeerConnection(await config);
  } catch (err) {
    stopTracks();
    throw err;
  }
  let meter = null;
  try {
    for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
    watchState(pc, onState);
    meter = levelMeter(mic, onLevel);
    const answer = await negotiate(pc, "/api/webrtc/offer/", {}, () =>
      api("POST", "/api/streams/stop/").catch(() => {}),
    );
    let stopped = null;
    return {
      sessionId: answer.session_id,
      pc,
      stream: mic,
      level: () => meter.level(),
      /** End the broadcast; resolves to the server's {recording_id, duration} (or null).
       *  `keepalive`: the page is going away, the stop must still reach the server.
       *  `tellServer` false: the server already ended it, only close this side. */
      stop({ keepalive = false, tellServer = true } = {}) {
        if (stopped) return stopped;
        stopped = (async () => {
          let result = null;
          try {
            if (tellServer) result = await api("POST", "/api/streams/stop/", undefined, { keepalive });
          } finally {
            meter.close();
            pc.close();
            stopTracks();
          }
          return result;
        })();
        return stopped;
      },
    };
  } catch (err) {
    if (meter) meter.close();
    pc.close();
    stopTracks();
    throw err;
  }
}

/**
 * Listen to a friend's live stream into `audioEl`. Call it from a click (a
 * user gesture) so Safari/iOS allow playback.
 * @returns {Promise<{stop: () => void, stream: MediaStream, pc: RTCPeerConnection, listenId: string}>}
 */
export async function listen(username, audioEl, { onState, level = "full" } = {}) {
  const stream = new MediaStream();
  // Attach and start playing within the gesture; the track arrives shortly.
  audioEl.srcObject = stream;
  audioEl.play().catch(() => {}); // may stay pending until the track arrives
  let pc;
  try {
    pc = new RTCPeerConnection(await peerConfig());
  } catch (err) {
    audioEl.srcObject = null;
    throw err;
  }
  const transceiver = pc.addTransceiver("audio", { direction: "recvonly" });
  // Ask for the smallest playout buffer the network allows: live voice wants low
  // delay, and the receiver still grows the buffer when it sees jitter.
  if ("jitterBufferTarget" in transceiver.receiver) transceiver.receiver.jitterBufferTarget = 0;
  pc.addEventListener("track", (ev) => {
    if (!stream.getTracks().includes(ev.track)) stream.addTrack(ev.track);
    if (audioEl.paused) audioEl.play().catch(() => {});
  });
  watchState(pc, onState);
  let answer;
  try {
    const undo = (refused) => api("DELETE", listenPath(refused.listen_id)).catch(() => {});
    answer = await negotiate(
      pc,
      `/api/webrtc/listen/${encodeURIComponent(username)}/`,
      { level },
      undo,
    );
  } catch (err) {
    pc.close();
    audioEl.srcObject = null;
    throw err;
  }
  if (audioEl.paused) audioEl.play().catch(() => {});
  const path = listenPath(answer.listen_id);
  return {
    pc,
    stream,
    listenId: answer.listen_id,
    level: answer.level || level,
    /** Switch to another level on the same connection (the server answers once it applies). */
    async setLevel(wanted) {
      const reply = await api("PATCH", path, { level: wanted }, { timeoutMs: LEVEL_TIMEOUT_MS });
      this.level = reply.level;
      return reply.level;
    },
    /** Close the connection; `tellServer` also DELETEs the listen (a user's own Stop:
     *  the slot frees at once). Not after the server ended it (that would be a 404). */
    stop(tellServer = false) {
      if (tellServer && pc.connectionState !== "closed") api("DELETE", path).catch(() => {});
      pc.close();
      stream.getTracks().forEach((t) => t.stop());
      audioEl.pause();
      audioEl.srcObject = null;
    },
  };
}
