// Owner-only tools of the recordings page's player: rename (inline edit of the
// title), delete (after a confirmation) and "clean again" with another model
// or attenuation limit. Hidden unless the recording's `is_owner` is true; the
// server enforces it anyway (403 for friends).

import { api, ApiError, byTestId } from "./api.js";
import { jobIsOpen } from "./recording_format.js";

const ATTEN_MIN = 6;
const ATTEN_MAX = 100;

/**
 * Wire the owner tools inside `panel` (#player-panel).
 * @param {HTMLElement} panel
 * @param {{
 *   onUpdated: (rec: object) => void,   // the recording changed (rename, new job)
 *   onDeleted: (id: number) => void,
 *   onError: (err: Error) => void,
 *   say: (text: string) => void,
 *   loadSettings: () => Promise<{models: string[], default_model?: string}>,
 * }} hooks
 * @returns {{render: (rec: object|null) => void}}
 */
export function createOwnerTools(panel, { onUpdated, onDeleted, onError, say, loadSettings }) {
  const q = (id) => byTestId(id, panel);
  const tools = q("owner-tools");
  const title = q("player-title");
  const renameForm = q("rename-form");
  const renameInput = q("rename-input");
  const renameSave = q("rename-save");
  const renameButton = q("rename-button");
  const deleteButton = q("delete-button");
  const recleanForm = q("reclean-form");
  const modelSelect = q("reclean-model");
  const attenInput = q("reclean-atten");
  const recleanSubmit = q("reclean-submit");
  const recleanNote = q("reclean-note");

  let rec = null;
  let busy = false;

  // ----- Rename (inline) --------------------------------------------------

  function openRename() {
    if (!rec) return;
    renameInput.value = rec.title;
    renameInput.removeAttribute("aria-invalid");
    title.hidden = true;
    renameForm.hidden = false;
    renameButton.setAttribute("aria-expanded", "true");
    renameInput.focus();
    renameInput.select();
  }

  function closeRename(focusTitle = true) {
    renameForm.hidden = true;
    title.hidden = false;
    renameButton.setAttribute("aria-expanded", "false");
    if (focusTitle) renameButton.focus();
  }

  async function saveRename(event) {
    event.preventDefault();
    const text = renameInput.value.trim();
    if (!text) {
      renameInput.setAttribute("aria-invalid", "true");
      onError(new ApiError(400, "Give the recording a title (1 to 200 characters)."));
      renameInput.focus();
      return;
    }
    if (text === rec.title) return closeRename();
    const id = rec.id;
    setBusy(true);
    try {
      const updated = await api("PATCH", `/api/recordings/${id}/`, { title: text });
      setBusy(false); // first: a disabled Rename button cannot take the focus back
      closeRename();
      onUpdated(updated);
      say(`Renamed to “${updated.title}”.`);
    } catch (err) {
      setBusy(false);
      renameInput.setAttribute("aria-invalid", "true");
      onError(err);
      renameInput.focus(); // it lost the focus while disabled; the user fixes the title here
    }
  }

  // ----- Delete -----------------------------------------------------------

  async function remove() {
    if (!rec) return;
    const { id, title: name } = rec;
    if (!window.confirm(`Delete “${name}”? Both versions are removed for good.`)) return;
    setBusy(true);
    try {
      await api("DELETE", `/api/recordings/${id}/`);
      onDeleted(id);
      say(`“${name}” was deleted.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        onDeleted(id); // deleted meanwhile (another tab): what the user asked for is done
        say(`“${name}” was deleted.`);
      } else {
        onError(err);
      }
    } finally {
      setBusy(false);
    }
  }

  // ----- Clean again --------------------------------------------------------

  let settings = null;

  async function fillModels() {
    if (!settings) settings = await loadSettings();
    const models = settings.models || [];
    if (modelSelect.options.length !== models.length) {
      modelSelect.replaceChildren(
        ...models.map((name) => new Option(name, name))
      );
    }
    const wanted = rec && models.includes(rec.model) ? rec.model : settings.default_model;
    if (wanted && models.includes(wanted)) modelSelect.value = wanted;
  }

  async function reclean(event) {
    event.preventDefault();
    const atten = Number(attenInput.value);
    if (!attenInput.value || !Number.isFinite(atten) || atten < ATTEN_MIN || atten > ATTEN_MAX) {
      attenInput.setAttribute("aria-invalid", "true");
      onError(
        new ApiError(400, `The attenuation limit must be between ${ATTEN_MIN} and ${ATTEN_MAX} dB.`)
      );
      attenInput.focus();
      return;
    }
    attenInput.removeAttribute("aria-invalid");
    const id = rec.id;
    setBusy(true);
    try {
      const payload = { atten_lim_db: atten };
      if (modelSelect.value) payload.model = modelSelect.value;
      const answer = await api("POST", `/api/recordings/${id}/reclean/`, payload);
      if (rec && rec.id === id) onUpdated({ ...rec, job: answer.job });
      say("Cleaning again: the new version replaces the current one when it is ready.");
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  }

  function renderReclean() {
    const hasRaw = Boolean(rec.raw_audio_url);
    const running = jobIsOpen(rec.job);
    let note = "Cleans the raw version again; the new result replaces the cleaned one.";
    if (!hasRaw) note = "Only recordings with a raw version can be cleaned again.";
    else if (running) note = "A cleaning job is running for this recording.";
    else if (rec.status !== "ready") note = "Available once the recording is ready.";
    recleanNote.textContent = note;
    const blocked = busy || !hasRaw || running || rec.status !== "ready";
    recleanSubmit.disabled = blocked;
    modelSelect.disabled = attenInput.disabled = !hasRaw;
  }

  function setBusy(value) {
    busy = value;
    renameButton.disabled = deleteButton.disabled = value;
    renameInput.disabled = renameSave.disabled = value; // one PATCH per Save
    if (rec) renderReclean();
  }

  renameButton.addEventListener("click", openRename);
  renameForm.addEventListener("submit", saveRename);
  q("rename-cancel").addEventListener("click", () => closeRename());
  renameForm.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeRename();
    }
  });
  deleteButton.addEventListener("click", remove);
  recleanForm.addEventListener("submit", reclean);
  attenInput.addEventListener("input", () => attenInput.removeAttribute("aria-invalid"));
  renameButton.setAttribute("aria-expanded", "false");

  return {
    /** Show the tools for `next` (hidden for friends' recordings or none). */
    render(next) {
      const changed = !rec || !next || rec.id !== next.id;
      rec = next;
      if (changed && !renameForm.hidden) closeRename(false);
      tools.hidden = !rec || !rec.is_owner;
      if (tools.hidden) return;
      renameButton.setAttribute("aria-label", `Rename “${rec.title}”`);
      deleteButton.setAttribute("aria-label", `Delete “${rec.title}”`);
      if (changed) {
        attenInput.value = String(Math.round(Number(rec.atten_lim_db) || ATTEN_MAX));
        fillModels().catch(onError);
      }
      renderReclean();
    },
  };
}
