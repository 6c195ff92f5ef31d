// Shared helpers for the login and register forms: per-field server errors,
// a pending state, and the redirect to a safe `next` after success.

import { ApiError, safeNext } from "./api.js";

/** Hide every error message in the form and clear aria-invalid. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll("[data-error-for]")) {
    el.textContent = "";
    el.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/**
 * Show errors: `fieldErrors` is the API's {field: [messages]}; fields
 * without a slot in the form (and `fallback`) go to the form-level message.
 */
export function showErrors(form, fieldErrors, fallback = "") {
  const leftovers = [];
  let first = null;
  for (const [field, messages] of Object.entries(fieldErrors || {})) {
    const text = [].concat(messages).join(" ");
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    const input = form.elements.namedItem(field);
    if (slot && field !== "__all__") {
      slot.textContent = text;
      slot.hidden = false;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      }
    } else {
      leftovers.push(text);
    }
  }
  if (!leftovers.length && !first && fallback) leftovers.push(fallback);
  if (leftovers.length) {
    const slot = form.querySelector('[data-error-for="__all__"]');
    slot.textContent = leftovers.join(" ");
    slot.hidden = false;
  }
  if (first) first.focus();
}

/** Turn an ApiError (or anything thrown) into form errors. */
export function showApiError(form, err, conflictField = null) {
  if (err instanceof ApiError && err.status === 409 && conflictField) {
    showErrors(form, { [conflictField]: [err.message] });
  } else if (err instanceof ApiError) {
    showErrors(form, err.errors, err.message);
  } else {
    console.error(err);
    showErrors(form, {}, "Something went wrong. Please try again.");
  }
}

/** Disable the form's controls while a request is in flight. */
export function setPending(form, pending, pendingLabel) {
  const button = form.querySelector('button[type="submit"]');
  if (!button.dataset.label) button.dataset.label = button.textContent;
  button.textContent = pending ? pendingLabel : button.dataset.label;
  button.disabled = pending;
  form.setAttribute("aria-busy", pending ? "true" : "false");
  for (const input of form.querySelectorAll("input")) input.readOnly = pending;
}

/** Where to go after success: the form's data-next (checked again) or the page's ?next=. */
export function nextTarget(form) {
  const fromQuery = new URLSearchParams(window.location.search).get("next");
  return safeNext(form.dataset.next || fromQuery || "/");
}
