// Register page: POST /api/auth/register/ (logs in), then go to the safe `next` target.

import { api } from "./api.js";
import { clearErrors, nextTarget, setPending, showApiError, showErrors } from "./forms.js";

const form = document.getElementById("register-form");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (form.getAttribute("aria-busy") === "true") return;
  clearErrors(form);
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  const password2 = form.elements.password2.value;

  // Quick local checks; the server's validators have the final word.
  const local = {};
  if (!username) local.username = ["Choose a user name."];
  if (!password) local.password = ["Choose a password."];
  if (password && password !== password2) local.password2 = ["The passwords do not match."];
  if (Object.keys(local).length) {
    showErrors(form, local);
    return;
  }

  setPending(form, true, "Creating account…");
  try {
    await api("POST", "/api/auth/register/", { username, password });
    window.location.assign(nextTarget(form));
  } catch (err) {
    // 400 carries {errors: {username|password: [...]}}; 409 means the name is taken.
    showApiError(form, err, "username");
    setPending(form, false);
  }
});
