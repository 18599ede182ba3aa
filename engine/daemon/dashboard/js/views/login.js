// Login: the API token (checked against the daemon before it is kept) and the name this
// person acts under (agent name on conversations, owner of the campaigns they create). Both
// stay in this tab's session storage.

import { api, session } from "../api.js";
import { FormError, clearErrors, field, h, showFormError } from "../ui.js";

export function render(container, done) {
  const token = h("input", { name: "token", type: "password", autocomplete: "current-password", required: true });
  const name = h("input", { name: "agent", autocomplete: "username", value: session.agent, required: true });
  const error = h("div", { class: "form-error hidden", role: "alert" });
  const note = h("p", { class: "muted small" },
    "The token is one of the daemon's [api] tokens. It is kept for this browser tab only.");
  const submit = h("button", { class: "primary", type: "submit" }, "Log in");
  const form = h("form", { class: "panel login", novalidate: true },
    h("h1", {}, "Switchboard"),
    field("API token", token),
    field("Your name", name, "Shown on conversations you handle and campaigns you create."),
    error, note, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    error.classList.add("hidden");
    submit.disabled = true;
    try {
      const agent = name.value.trim();
      if (!agent) throw new FormError("agent", "Enter your name.");
      if (agent.length > 100) throw new FormError("agent", "At most 100 characters.");
      try {
        await api("GET", "/workflows", { token: token.value.trim() });
      } catch (problem) {
        if (problem.status === 401) {
          throw new FormError("token", token.value.trim() ? "This token is not valid." : "Enter an API token.");
        }
        throw problem;
      }
      session.start(token.value.trim(), agent);
      done();
    } catch (problem) {
      showFormError(form, error, problem);
    } finally {
      submit.disabled = false;
    }
  });
  container.append(form);
  (session.agent ? token : name).focus();
}
