// Workflows: the files of the watched directory with their kind, version and status; one
// workflow's errors (line and column, linked to the line) and its YAML, read-only. An invalid
// file shows its text as it is on disk, with the error lines marked; the version still in use
// (if any) is shown beside. Reloads are announced on the live stream.

import { api } from "../api.js";
import { live } from "../live.js";
import * as format from "../format.js";
import { badge, h, replace, throttle } from "../ui.js";

export function render(main, params) {
  const selected = params[0] ? decodeURIComponent(params[0]) : null;
  const list = h("div", { class: "list", "aria-label": "Workflows" }, h("div", { class: "loading" }, "Loading…"));
  const detail = h("section", { class: "stack", "aria-live": "polite" });
  main.append(h("h1", {}, "Workflows"), h("div", { class: "split" }, list, detail));

  async function loadList() {
    try {
      const workflows = await api("GET", "/workflows");
      workflows.sort((a, b) => a.id.localeCompare(b.id));
      if (workflows.length === 0) {
        replace(list, h("div", { class: "empty" }, "No workflow files in the watched directory."));
        return;
      }
      replace(list, workflows.map((w) => h("a", {
        class: "list-item", href: `#/workflows/${encodeURIComponent(w.id)}`, "aria-current": w.id === selected ? "true" : null,
        dataset: { testid: "workflow", id: w.id },
      },
      h("div", { class: "title" }, w.id, badge(w.status), w.kind ? badge(w.kind, "kind") : null),
      h("div", { class: "muted small" },
        w.version ? `version ${w.version}` : "no version in use",
        w.errors.length ? ` · ${w.errors.length} problem${w.errors.length > 1 ? "s" : ""}` : "",
        ` · ${format.ago(w.updated_at)}`))));
    } catch (problem) {
      replace(list, h("div", { class: "form-error", role: "alert" }, problem.message));
    }
  }

  async function loadDetail() {
    if (!selected) {
      replace(detail, h("div", { class: "panel muted" }, "Choose a workflow to see its status and source."));
      return;
    }
    try {
      drawDetail(await api("GET", `/workflows/${encodeURIComponent(selected)}`));
    } catch (problem) {
      replace(detail, h("div", { class: "form-error", role: "alert" }, problem.message));
    }
  }

  function drawDetail(w) {
    const errors = w.errors || [];
    const lines = new Set(errors.map((e) => e.line));
    const shown = w.file_source ?? w.source;
    replace(detail,
      h("div", { class: "panel stack" },
        h("div", { class: "row" }, h("h2", {}, w.id), badge(w.status), w.kind ? badge(w.kind, "kind") : null),
        h("dl", { class: "fields" },
          h("dt", {}, "File"), h("dd", { class: "mono" }, w.file),
          h("dt", {}, "Version in use"), h("dd", {}, w.version ? String(w.version) : "none"),
          h("dt", {}, "Content hash"), h("dd", { class: "mono" }, w.hash || "—"),
          h("dt", {}, "Updated"), h("dd", {}, format.dateTime(w.updated_at)),
          w.invalid_since ? [h("dt", {}, "Invalid since"), h("dd", {}, format.dateTime(w.invalid_since))] : null),
        w.status === "invalid"
          ? h("div", { class: "banner bad", dataset: { testid: "workflow-invalid" } },
            w.version
              ? `This file is invalid: version ${w.version} stays in use until it is fixed.`
              : "This file is invalid and no version of it can run.")
          : null,
        errors.length
          ? h("div", {}, h("h3", {}, "Problems"),
            h("ul", { class: "diagnostics", dataset: { testid: "diagnostics" } }, errors.map((e) => h("li", {},
              badge(e.severity, e.severity === "error" ? "failed" : "paused"), " ",
              h("a", { href: `#line-${e.line}`, onclick: (event) => jump(event, e.line) }, `line ${e.line}, column ${e.column}`),
              e.path ? h("span", { class: "mono muted" }, ` ${e.path}`) : null,
              ": ", e.message,
              e.help ? h("div", { class: "muted small" }, e.help) : null))))
          : null),
      shown !== null && shown !== undefined
        ? h("div", {},
          h("h3", {}, w.file_source ? "File on disk (read-only)" : `Version ${w.version} (read-only)`),
          source(shown, lines))
        : h("div", { class: "panel muted" }, "No source to show."),
      w.file_source && w.source
        ? h("details", {}, h("summary", {}, `Version ${w.version}, still in use`), source(w.source, new Set()))
        : null);
  }

  function source(text, errorLines) {
    return h("pre", { class: "source", "aria-label": "Workflow source", dataset: { testid: "workflow-source" } },
      text.replace(/\n$/, "").split("\n").map((line, i) => h("span", {
        class: `line${errorLines.has(i + 1) ? " error" : ""}`, id: `line-${i + 1}`,
      }, `${line}\n`)));
  }

  function jump(event, line) {
    event.preventDefault();
    const target = detail.querySelector(`#line-${line}`);
    if (target) target.scrollIntoView({ block: "center" });
  }

  const refresh = throttle(() => { loadList(); loadDetail(); }, 500);
  const unsubscribe = live.subscribe(["workflow", "resync"], refresh);
  loadList();
  loadDetail();
  return unsubscribe;
}
