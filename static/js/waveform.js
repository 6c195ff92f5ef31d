// Waveform of a recording on a <canvas>: min/max peaks of the raw version in
// grey behind, the cleaned version in colour on top (so what the noise removal
// took away is the visible grey), a playhead, click-to-seek and keyboard seeking
// (the canvas is an ARIA slider).
//
//   import { createWaveform, fetchPeaks } from "./waveform.js";
//   const wave = createWaveform(canvas, { onSeek: (t) => (audio.currentTime = t) });
//   wave.setPeaks(await fetchPeaks(rec.peaks_url, wave.idealBuckets()));
//   wave.setTime(audio.currentTime);
//
// Colours come from CSS custom properties on the canvas: --wave-raw,
// --wave-cleaned, --wave-head (see app.css).

import { api } from "./api.js";
import { formatDuration, withParams } from "./recording_format.js";

const MIN_BUCKETS = 50;
const MAX_BUCKETS = 4000;
const KEY_STEP_S = 5;

/**
 * GET the peaks of a recording.
 * @param {string} peaksUrl  the recording's `peaks_url`
 * @param {number} buckets   wanted number of buckets (clamped to 50..4000)
 * @param {Record<string, string|number>} [extra]  more query parameters
 * @returns {Promise<{duration: number, buckets: number, cleaned: number[][], raw: number[][]|null}>}
 */
export function fetchPeaks(peaksUrl, buckets, extra = {}) {
  const n = Math.round(Math.min(MAX_BUCKETS, Math.max(MIN_BUCKETS, buckets)));
  return api("GET", withParams(peaksUrl, { buckets: n, ...extra }));
}

/**
 * Create the waveform view.
 * @param {HTMLCanvasElement} canvas
 * @param {{onSeek: (seconds: number) => void}} opts  called on click / arrow keys
 * @returns {{
 *   setPeaks: (peaks: object|null) => void,
 *   reset: () => void,
 *   setDuration: (seconds: number) => void,
 *   setTime: (seconds: number) => void,
 *   idealBuckets: () => number,
 *   destroy: () => void,
 * }}
 */
export function createWaveform(canvas, { onSeek }) {
  const ctx = canvas.getContext("2d");
  const cache = document.createElement("canvas"); // the peaks, redrawn only on change
  let peaks = null;
  let duration = 0;
  let time = 0;
  let cacheKey = "";

  function size() {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
    return { dpr, width, height };
  }

  function colour(name, fallback) {
    return getComputedStyle(canvas).getPropertyValue(name).trim() || fallback;
  }

  /** Min/max bars of one series across the whole width. */
  function drawSeries(g, series, fill, width, height) {
    const n = series.length;
    if (!n) return;
    const mid = height / 2;
    const amp = height / 2 - 1;
    const step = width / n;
    g.fillStyle = fill;
    for (let i = 0; i < n; i += 1) {
      const [lo, hi] = series[i];
      const top = mid - Math.max(-1, Math.min(1, hi)) * amp;
      const bottom = mid - Math.max(-1, Math.min(1, lo)) * amp;
      g.fillRect(i * step, top, Math.max(step, 1), Math.max(1, bottom - top));
    }
  }

  function renderCache(width, height) {
    cache.width = width;
    cache.height = height;
    const g = cache.getContext("2d");
    g.clearRect(0, 0, width, height);
    g.fillStyle = colour("--wave-axis", "rgba(128,128,128,0.35)");
    g.fillRect(0, Math.floor(height / 2), width, 1);
    if (!peaks) return;
    if (peaks.raw) drawSeries(g, peaks.raw, colour("--wave-raw", "#b8bfcc"), width, height);
    drawSeries(g, peaks.cleaned || [], colour("--wave-cleaned", "#2563eb"), width, height);
  }

  function draw() {
    const { dpr, width, height } = size();
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const key = `${width}x${height}:${peaks ? peaks.version : "none"}`;
    if (key !== cacheKey) {
      renderCache(width, height);
      cacheKey = key;
    }
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(cache, 0, 0);
    if (duration > 0) {
      const x = Math.min(width - 1, (time / duration) * width);
      ctx.fillStyle = colour("--wave-played", "rgba(37,99,235,0.08)");
      ctx.fillRect(0, 0, x, height);
      ctx.fillStyle = colour("--wave-head", "#c2410c");
      ctx.fillRect(Math.max(0, x - dpr), 0, 2 * dpr, height);
    }
  }

  function updateAria() {
    canvas.setAttribute("aria-valuemax", String(Math.round(duration)));
    canvas.setAttribute("aria-valuenow", String(Math.round(time)));
    canvas.setAttribute(
      "aria-valuetext",
      `${formatDuration(time)} of ${formatDuration(duration)}`
    );
  }

  function seekTo(seconds) {
    if (!(duration > 0)) return;
    const target = Math.max(0, Math.min(duration, seconds));
    time = target;
    updateAria();
    draw();
    onSeek(target);
  }

  function onClick(event) {
    const rect = canvas.getBoundingClientRect();
    if (!rect.width) return;
    seekTo(((event.clientX - rect.left) / rect.width) * duration);
  }

  function onKey(event) {
    const moves = {
      ArrowLeft: time - KEY_STEP_S,
      ArrowDown: time - KEY_STEP_S,
      ArrowRight: time + KEY_STEP_S,
      ArrowUp: time + KEY_STEP_S,
      PageDown: time - KEY_STEP_S * 6,
      PageUp: time + KEY_STEP_S * 6,
      Home: 0,
      End: duration,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    seekTo(moves[event.key]);
  }

  canvas.addEventListener("click", onClick);
  canvas.addEventListener("keydown", onKey);
  const resize = new ResizeObserver(() => draw());
  resize.observe(canvas);
  const scheme = window.matchMedia("(prefers-color-scheme: dark)");
  const recolour = () => {
    cacheKey = "";
    draw();
  };
  scheme.addEventListener("change", recolour);
  let version = 0;

  return {
    /** Show new peaks (or none while loading / unavailable). */
    setPeaks(next) {
      peaks = next ? { ...next, version: ++version } : null;
      if (next && !(duration > 0)) duration = Number(next.duration) || 0;
      updateAria();
      draw();
    },
    /** Forget the peaks, the length and the position (another recording). */
    reset() {
      peaks = null;
      duration = 0;
      time = 0;
      updateAria();
      draw();
    },
    /** The timeline length in seconds (the audio element's, once known). */
    setDuration(seconds) {
      if (Number.isFinite(seconds) && seconds > 0) duration = seconds;
      updateAria();
      draw();
    },
    /** Move the playhead. */
    setTime(seconds) {
      time = Number.isFinite(seconds) ? seconds : 0;
      updateAria();
      draw();
    },
    /** Buckets that give about one per device pixel of the current width. */
    idealBuckets() {
      return size().width;
    },
    /** Stop observing and drop the handlers. */
    destroy() {
      resize.disconnect();
      scheme.removeEventListener("change", recolour);
      canvas.removeEventListener("click", onClick);
      canvas.removeEventListener("keydown", onKey);
    },
  };
}
