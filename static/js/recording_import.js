// The recordings page's import form: upload an audio file (multipart, with the
// CSRF token); the server answers 202 with a recording in "processing" state,
// whose cleaning progress then arrives over the presence socket.

import { apiForm, byTestId } from "./api.js";

const HINTS = {
  400: "The server could not read it as audio. Try a WAV, FLAC, OGG or MP3 file.",
  413: "Choose a shorter file, or delete recordings to free space.",
};

/**
 * Wire the import form.
 * @param {HTMLFormElement} form  [data-testid="import-form"]
 * @param {{
 *   onImported: (rec: object) => void,
 *   onError: (err: Error) => void,   // for 401 (logged out); others show in the form
 *   say: (text: string) => void,
 * }} hooks
 */
export function initImport(form, { onImported, onError, say }) {
  const q = (id) => byTestId(id, form);
  const fileInput = q("import-file");
  const titleInput = q("import-title");
  const submit = q("import-submit");
  const errorEl = q("import-error");

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  fileInput.addEventListener("change", () => {
    fileInput.removeAttribute("aria-invalid");
    showError("");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      fileInput.setAttribute("aria-invalid", "true");
      showError("Choose an audio file to import.");
      fileInput.focus();
      return;
    }
    const maxBytes = Number(form.dataset.maxBytes) || 0;
    if (maxBytes && file.size > maxBytes) {
      // The server would refuse it too (413), but only once it has arrived: not worth the wait.
      fileInput.setAttribute("aria-invalid", "true");
      const mb = Math.floor(maxBytes / (1024 * 1024)); // as the server words its 413
      showError(`Import failed: The file is larger than the ${mb} MB limit.`);
      fileInput.focus();
      return;
    }
    const data = new FormData();
    data.append("file", file, file.name);
    const title = titleInput.value.trim();
    if (title) data.append("title", title);

    submit.disabled = true;
    submit.textContent = "Uploading…";
    try {
      const answer = await apiForm("/api/recordings/import/", data);
      form.reset();
      onImported(answer.recording);
      say(`“${answer.recording.title}” was uploaded and is being cleaned.`);
    } catch (err) {
      if (err.status === 401) return onError(err);
      const hint = HINTS[err.status];
      const text = hint && !err.message.includes(hint) ? `${err.message} ${hint}` : err.message;
      fileInput.setAttribute("aria-invalid", String(err.status === 400 || err.status === 413));
      showError(`Import failed: ${text}`);
    } finally {
      submit.disabled = false;
      submit.textContent = "Import";
    }
  });
}
