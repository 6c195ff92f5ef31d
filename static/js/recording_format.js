// Small, pure helpers shared by the recordings page modules: durations, dates,
// sizes, job states and audio URLs (contract: docs/recordings.md).

const OPEN_JOB = new Set(["queued", "running"]);

/**
 * "m:ss" (or "h:mm:ss") for a number of seconds.
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * A timestamp in the visitor's local time zone and locale.
 * @param {string} iso  e.g. "2026-11-24T10:00:00+00:00"
 * @returns {string}
 */
export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * "820 KB", "12.3 MB", "1.2 GB".
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/**
 * True while a job is queued or running.
 * @param {{status: string}|null|undefined} job
 * @returns {boolean}
 */
export function jobIsOpen(job) {
  return Boolean(job && OPEN_JOB.has(job.status));
}

/**
 * A short sentence for a job: "Cleaning… 42%", "Queued", "Re-clean failed: …". Without
 * `percent` a running job is just "Cleaning…": what a screen reader is told, once, rather
 * than every percent.
 * @param {{kind: string, status: string, progress: number, error?: string}} job
 * @param {boolean} [percent]
 * @returns {string}
 */
export function jobText(job, percent = true) {
  const what = job.kind === "import" ? "Cleaning" : "Cleaning again";
  if (job.status === "queued") return `${what}: waiting to start…`;
  if (job.status === "running" && !percent) return `${what}…`;
  if (job.status === "running") return `${what}… ${Math.round((job.progress || 0) * 100)}%`;
  if (job.status === "failed") return `${what} failed: ${job.error || "unknown error"}`;
  return `${what}: done.`;
}

/**
 * The list's status text for a recording (`percent`: as for jobText).
 * @param {object} rec  a recording object
 * @param {boolean} [percent]
 * @returns {string}
 */
export function statusText(rec, percent = true) {
  if (rec.status === "failed") return `Failed: ${rec.error || "unknown error"}`;
  if (jobIsOpen(rec.job)) return jobText(rec.job, percent);
  if (rec.status === "processing") return "Processing…";
  return "";
}

/**
 * Add query parameters to a (relative) URL that may already have some.
 * @param {string} url  e.g. "/api/recordings/7/audio/?version=raw"
 * @param {Record<string, string|number>} params
 * @returns {string}
 */
export function withParams(url, params) {
  const parsed = new URL(url, window.location.origin);
  for (const [key, value] of Object.entries(params)) parsed.searchParams.set(key, String(value));
  return parsed.pathname + parsed.search;
}
