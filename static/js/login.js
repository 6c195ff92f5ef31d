// Login page: POST /api/auth/login/, then go to the safe `next` target.

import { api } from "./api.js";
import { clearErrors, nextTarget, setPending, showApiError, showErrors } from "./forms.js";

const form = document.getElementById("login-form");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (form.getAttribute("aria-busy") === "true") return;
  clearErrors(form);
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;

  const missing = {};
  if (!username) missing.username = ["Enter your user name."];
  if (!password) missing.password = ["Enter your password."];
  if (Object.keys(missing).length) {
    showErrors(form, missing);
    return;
  }

  setPending(form, true, "Logging in…");
  try {
    await api("POST", "/api/auth/login/", { username, password });
    window.location.assign(nextTarget(form));
  } catch (err) {
    // 401 wrong credentials and 429 rate limit both come with a readable sentence.
    showApiError(form, err);
    setPending(form, false);
    form.elements.password.select();
  }
});
