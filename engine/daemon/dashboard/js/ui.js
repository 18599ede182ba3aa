// Building DOM without innerHTML (every text goes in as text: no markup injection from
// contact messages, workflow sources or error texts), dialogs, toasts and inline form errors.

/**
 * An element: `h("button", { class: "primary", onclick: fn }, "Save")`.
 * Attributes starting with "on" are listeners; `dataset`, `style` take objects; `null`,
 * `undefined` and `false` attributes and children are skipped; strings become text nodes.
 */
export function h(tag, attributes = {}, ...children) {
  const element = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "style" && typeof value === "object") {
      Object.assign(element.style, value);
    } else if (name === "value" && "value" in element) {
      element.value = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A status badge whose class is the status itself. */
export function badge(text, kind = text) {
  return h("span", { class: `badge ${String(kind).replace(/[^a-z0-9_-]/gi, "")}` }, text);
}

/** A short message in the corner. */
export function toast(message, kind = "") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: `toast ${kind}`, role: kind === "bad" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "bad" ? 8000 : 4000);
}

/**
 * A modal dialog; resolves to the value `onSubmit` returns (or true for a plain confirm), or
 * null when cancelled. `onSubmit` may throw a FormError to keep the dialog open with errors.
 */
export function dialog({ title, body = [], confirm = "OK", danger = false, onSubmit = null }) {
  return new Promise((resolve) => {
    const error = h("div", { class: "form-error hidden", role: "alert" });
    const submit = h("button", { class: `primary${danger ? " danger" : ""}`, type: "submit" }, confirm);
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h("form", { method: "dialog", novalidate: true },
      h("h2", {}, title), ...[body].flat(), error, h("div", { class: "actions" }, cancel, submit));
    const element = h("dialog", { "aria-label": title }, form);
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      element.close();
      element.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(null));
    element.addEventListener("cancel", (event) => { event.preventDefault(); finish(null); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      error.classList.add("hidden");
      if (!onSubmit) return finish(true);
      submit.disabled = true;
      try {
        finish(await onSubmit(form));
      } catch (problem) {
        showFormError(form, error, problem);
      } finally {
        submit.disabled = false;
      }
    });
    document.body.append(element);
    element.showModal();
  });
}

/** Asks before an irreversible action. */
export function confirmAction(title, text, confirm, danger = true) {
  return dialog({ title, body: [h("p", {}, text)], confirm, danger });
}

/** An error to show beside one field of a form (`field` is the input's name). */
export class FormError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** A labelled field: `field("Name", h("input", {name: "name"}))`. */
export function field(label, input, hint = null) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    hint ? h("span", { class: "muted small" }, hint) : null);
}

/**
 * Marks a field invalid with a message under it (replacing an earlier one); the mark goes
 * as soon as the user changes the field. Returns the message element.
 */
export function fieldError(input, message) {
  const holder = input.closest(".field") || input.parentElement;
  holder.querySelectorAll(".error").forEach((old) => old.remove());
  input.setAttribute("aria-invalid", "true");
  const note = h("div", { class: "error", role: "alert", id: `${input.id || "x"}-error` }, message);
  input.setAttribute("aria-describedby", note.id);
  holder.append(note);
  input.addEventListener("input", () => {
    input.removeAttribute("aria-invalid");
    note.remove();
  }, { once: true });
  return note;
}

/** Removes the inline errors of a form. */
export function clearErrors(form) {
  form.querySelectorAll(".field .error").forEach((note) => note.remove());
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
}

/** Shows an error inline: beside its field when known, else in the form's error box. */
export function showFormError(form, box, problem) {
  const input = problem.field ? form.querySelector(`[name="${problem.field}"]`) : null;
  if (input) {
    fieldError(input, problem.message);
    input.focus();
  } else {
    box.textContent = problem.message || String(problem);
    box.classList.remove("hidden");
  }
}

/** Calls `fn` at most once per `wait` ms, trailing: a call made while waiting runs at the
 * end of the wait, with the latest arguments. */
export function throttle(fn, wait) {
  let timer = null;
  let pending = null; // the latest arguments of a call made while waiting
  return (...args) => {
    if (timer) { pending = args; return; }
    fn(...args);
    timer = setTimeout(function tick() {
      if (pending) {
        const latest = pending;
        pending = null;
        fn(...latest);
        timer = setTimeout(tick, wait);
      } else {
        timer = null;
      }
    }, wait);
  };
}

/** Saves a Blob as a download. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
