// Live telemetry meter: the server's "telemetry" events (twice a second, API.md) as a
// compact readout and a 30-second history of the dB of noise removed.
//
//   const meter = telemetryMeter(containerEl);
//   meter.update(event);          // a "telemetry" presence event
//   meter.network({lossPct, jitterMs});  // the listener's own, from getStats
//   meter.reset();                // the stream ended
//
// The container holds the readout ([data-testid="telemetry-*"] fields) and a <canvas>.

const HISTORY = 60; // 30 s at 2 Hz
const MAX_DB = 60; // top of the history chart

function field(root, name) {
  return root.querySelector(`[data-testid="telemetry-${name}"]`);
}

function fmt(value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** Bind a meter to `root` (a [data-testid="telemetry"] element); returns its API. */
export function telemetryMeter(root) {
  if (!root) return { update() {}, network() {}, reset() {} };
  const canvas = root.querySelector("canvas");
  const history = [];

  function draw() {
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = getComputedStyle(root).color || "#4a8";
    ctx.lineWidth = 2;
    ctx.beginPath();
    history.forEach((db, i) => {
      const x = (i / (HISTORY - 1)) * width;
      const y = height - (Math.max(0, Math.min(MAX_DB, db)) / MAX_DB) * height;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }

  function set(name, text) {
    const el = field(root, name);
    if (el) el.textContent = text;
  }

  return {
    update(ev) {
      root.hidden = false;
      root.dataset.removed = String(ev.db_removed);
      root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
      set("input", `${fmt(ev.level_dbfs)} dB`);
      set("removed", `${fmt(ev.db_removed)} dB`);
      set("speech", ev.speech ? "speech" : "no speech");
      set("engine", `${fmt(ev.hop_ms, 1)} / ${fmt(ev.budget_ms)} ms`);
      set("frames", `${ev.bypassed} bypassed, ${ev.dropped} dropped`);
      set("listeners", String(ev.listeners));
      const engine = field(root, "engine");
      if (engine) engine.dataset.over = String(ev.hop_ms > ev.budget_ms);
      history.push(ev.db_removed);
      if (history.length > HISTORY) history.shift();
      draw();
    },
    network({ lossPct, jitterMs }) {
      set("network", `${fmt(lossPct, 1)} % lost, ${fmt(jitterMs)} ms jitter`);
    },
    reset() {
      history.length = 0;
      draw();
      root.hidden = true;
    },
  };
}

/** Poll `pc`'s inbound audio stats every second: loss (%) and jitter (ms) to `onStats`.
 *  Returns a function that stops polling. */
export function watchInbound(pc, onStats) {
  let last = null;
  const timer = setInterval(async () => {
    if (pc.connectionState === "closed") return;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type !== "inbound-rtp" || s.kind !== "audio") return;
      const received = s.packetsReceived || 0;
      const lost = s.packetsLost || 0;
      let lossPct = 0;
      if (last) {
        const dr = received - last.received;
        const dl = lost - last.lost;
        lossPct = dr + dl > 0 ? (100 * Math.max(0, dl)) / (dr + dl) : 0;
      }
      last = { received, lost };
      onStats({ lossPct, jitterMs: 1000 * (s.jitter || 0) });
    });
  }, 1000);
  return () => clearInterval(timer);
}

/** Draw a recording's per-second dB-removed series (`db_removed`) as bars on `canvas`;
 *  hidden when the recording has none (imports, older recordings). Returns the mean. */
export function drawRemovedSeries(canvas, series) {
  if (!canvas) return null;
  const values = Array.isArray(series) ? series : [];
  canvas.hidden = values.length === 0;
  canvas.dataset.seconds = String(values.length);
  if (!values.length) return null;
  canvas.width = canvas.clientWidth || 600;
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = getComputedStyle(canvas).color || "#2f855a";
  const step = width / values.length;
  values.forEach((db, i) => {
    const h = (Math.max(0, Math.min(MAX_DB, db)) / MAX_DB) * height;
    ctx.fillRect(i * step, height - h, Math.max(1, step - 1), h);
  });
  return values.reduce((a, b) => a + b, 0) / values.length;
}
