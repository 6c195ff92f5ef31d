// The recordings page's player (#player-panel): one <audio> element (so seeking
// uses HTTP Range requests on the audio URL), a one-click Raw / Cleaned A/B
// toggle that keeps the position and the play/pause state, the waveform, the
// download links and the job progress. Owner tools live in recording_owner.js.

import { ApiError, byTestId } from "./api.js";
import {
  formatDate,
  formatDuration,
  jobIsOpen,
  jobText,
  statusText,
  withParams,
} from "./recording_format.js";
import { drawRemovedSeries } from "./telemetry.js";
import { createWaveform, fetchPeaks } from "./waveform.js";

// The last finished job of each recording seen: its id versions the cleaned
// audio's URL (so a re-cleaned version is never served from the browser's
// cache) and a new one means "reload the audio". A job that is still running
// changes nothing: the previous cleaned version plays until the new one is stored.
const doneJobs = new Map(); // recording id -> job id

function revisionParams(rec) {
  if (rec.job && rec.job.status === "done") doneJobs.set(rec.id, rec.job.id);
  const rev = doneJobs.get(rec.id);
  return rev ? { rev } : {};
}

/** A key that changes whenever the cleaned audio changes (import or re-clean done). */
function audioRevision(rec) {
  return `${rec.status}:${revisionParams(rec).rev || 0}`;
}

/** URL of one version of a recording: "cleaned" or "raw". */
function sourceFor(rec, version) {
  if (version === "raw") return rec.raw_audio_url;
  return withParams(rec.audio_url, revisionParams(rec));
}

function metaText(rec) {
  const parts = [
    `by ${rec.owner}`,
    formatDate(rec.created_at),
    formatDuration(rec.duration),
    rec.source === "import" ? "imported" : "recorded live",
  ];
  if (rec.model) {
    const limit = Number(rec.atten_lim_db) < 100 ? `, limit ${Math.round(rec.atten_lim_db)} dB` : "";
    parts.push(`cleaned with ${rec.model}${limit}`);
  }
  return parts.filter(Boolean).join(" · ");
}

/** Ask the server why an audio URL does not play (its JSON `error`), if it says. */
async function audioProblem(url) {
  try {
    const resp = await fetch(url, { headers: { Range: "bytes=0-1" }, credentials: "same-origin" });
    if (resp.ok) return null;
    const body = await resp.json().catch(() => null);
    return new ApiError(resp.status, (body && body.error) || `HTTP ${resp.status}`);
  } catch {
    return new ApiError(0, "Cannot reach the server. Check your connection.");
  }
}

/**
 * Create the player on `panel`.
 * @param {HTMLElement} panel  #player-panel
 * @param {{onError: (err: Error) => void, say: (text: string) => void}} hooks
 * @returns {{show: (rec: object) => void, clear: () => void, current: () => object|null}}
 */
export function createPlayer(panel, { onError, say }) {
  const q = (id) => byTestId(id, panel);
  const audio = q("player-audio");
  const toggle = q("ab-toggle");
  const abState = q("ab-state");
  const body = q("player-body");
  const jobBox = q("job-status");
  const jobBar = q("job-progress");
  const jobLine = q("job-text");
  const jobAnnounce = q("job-announce");
  const links = {
    wav: q("download-cleaned-wav"),
    flac: q("download-cleaned-flac"),
    raw: q("download-raw-wav"),
  };
  const wave = createWaveform(q("waveform"), { onSeek: (t) => (audio.currentTime = t) });

  let rec = null;
  let version = "cleaned"; // which version the <audio> plays
  let revision = ""; // audioRevision() of what is loaded
  let pending = null; // {at, playing} while a source swap waits for its metadata
  let swaps = 0; // drops stale swap handlers
  let peakLoads = 0; // drops stale peaks answers
  let frame = 0;

  /** Play `version`; with `keep`, continue at the same position and play state. */
  function load(nextVersion, keep) {
    const from = keep
      ? pending || { at: audio.currentTime, playing: !audio.paused && !audio.ended }
      : null;
    const mine = ++swaps;
    pending = from;
    version = nextVersion;
    audio.src = sourceFor(rec, version); // resets the position and pauses
    renderToggle();
    if (!from) return;
    audio.addEventListener(
      "loadedmetadata",
      () => {
        if (mine !== swaps) return;
        pending = null;
        const end = Number.isFinite(audio.duration) ? audio.duration : from.at;
        audio.currentTime = Math.min(from.at, end);
        if (from.playing) audio.play().catch(playFailed);
      },
      { once: true }
    );
  }

  function playFailed(err) {
    if (err && err.name === "AbortError") return; // superseded by another load
    if (err && err.name === "NotAllowedError") say("Press play to continue listening.");
    else onError(err);
  }

  function unload() {
    swaps += 1;
    pending = null;
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
  }

  function loadPeaks() {
    const mine = ++peakLoads;
    fetchPeaks(rec.peaks_url, wave.idealBuckets(), revisionParams(rec))
      .then((peaks) => mine === peakLoads && wave.setPeaks(peaks))
      .catch((err) => mine === peakLoads && onError(err));
  }

  function renderToggle() {
    const hasRaw = Boolean(rec && rec.raw_audio_url);
    const raw = version === "raw";
    toggle.setAttribute("aria-pressed", String(raw));
    toggle.disabled = !hasRaw || !rec || rec.status !== "ready";
    toggle.title = hasRaw ? "Switch between the raw and the cleaned version" : "No raw version";
    panel.dataset.version = version;
    if (!hasRaw && rec && !rec.is_owner) abState.textContent = "No raw version shared.";
    else if (!hasRaw) abState.textContent = "No raw version was recorded.";
    else abState.textContent = raw ? "Playing the raw microphone audio." : "Playing the cleaned audio.";
  }

  function renderJob() {
    const job = rec.job;
    const open = jobIsOpen(job);
    const failedJob = job && job.status === "failed";
    const text = rec.status !== "ready" ? statusText(rec) : open || failedJob ? jobText(job) : "";
    jobBox.hidden = !text;
    jobBox.dataset.state = rec.status === "failed" || failedJob ? "failed" : open ? "running" : "";
    jobBar.hidden = !open;
    jobBar.value = open ? Number(job.progress) || 0 : 0;
    if (jobLine.textContent !== text) jobLine.textContent = text;
    // Screen readers hear the job's steps (queued, cleaning, failed), not every percent.
    const said =
      rec.status !== "ready" ? statusText(rec, false) : open || failedJob ? jobText(job, false) : "";
    if (jobAnnounce.textContent !== said) jobAnnounce.textContent = said;
  }

  function renderLinks() {
    const ready = rec.status === "ready";
    links.wav.hidden = links.flac.hidden = !ready;
    links.wav.href = withParams(rec.audio_url, { download: 1 });
    links.flac.href = withParams(rec.audio_url, { download: 1, format: "flac" });
    links.raw.hidden = !ready || !rec.raw_audio_url;
    if (rec.raw_audio_url) links.raw.href = withParams(rec.raw_audio_url, { download: 1 });
    else links.raw.removeAttribute("href");
    q("downloads").hidden = !ready;
  }

  // --- Position: the waveform follows the audio (every frame while playing).
  function follow() {
    cancelAnimationFrame(frame);
    wave.setTime(audio.currentTime);
    if (!audio.paused) frame = requestAnimationFrame(follow);
  }
  audio.addEventListener("play", follow);
  audio.addEventListener("pause", follow);
  audio.addEventListener("seeked", follow);
  audio.addEventListener("timeupdate", () => audio.paused && wave.setTime(audio.currentTime));
  audio.addEventListener("durationchange", () => wave.setDuration(audio.duration));
  audio.addEventListener("error", async () => {
    const url = audio.getAttribute("src");
    if (!url || !rec) return;
    const problem = await audioProblem(url);
    if (audio.getAttribute("src") !== url) return; // moved on meanwhile
    pending = null;
    onError(problem || new Error("This audio cannot be played in your browser."));
  });

  toggle.addEventListener("click", () => {
    if (!rec || !rec.raw_audio_url || rec.status !== "ready") return;
    load(version === "raw" ? "cleaned" : "raw", true);
  });

  return {
    /** Show `next` (a new selection, or fresh data for the one shown). */
    show(next) {
      const same = rec !== null && rec.id === next.id;
      if (!same) {
        unload();
        wave.reset();
        version = "cleaned";
        revision = "";
        peakLoads += 1;
      }
      rec = next;
      if (!rec.raw_audio_url) version = "cleaned";
      panel.hidden = false;
      panel.dataset.recordingId = String(rec.id);
      panel.dataset.status = rec.status;
      q("player-title").textContent = rec.title;
      q("player-meta").textContent = metaText(rec);
      body.hidden = rec.status !== "ready";
      renderJob();
      renderLinks();
      const mean = drawRemovedSeries(q("removed-chart"), rec.db_removed);
      q("removed-legend").hidden = mean === null;
      if (mean !== null) q("removed-mean").textContent = `${mean.toFixed(0)} dB`;
      const rev = audioRevision(rec);
      if (rev !== revision) {
        revision = rev;
        if (rec.status === "ready") {
          load(version, same && audio.getAttribute("src") !== null);
          loadPeaks();
        } else {
          unload();
        }
      }
      renderToggle();
    },
    /** Hide the player and stop the audio (nothing selected). */
    clear() {
      rec = null;
      revision = "";
      unload();
      wave.reset();
      panel.hidden = true;
    },
    /** The recording shown, or null. */
    current() {
      return rec;
    },
  };
}
