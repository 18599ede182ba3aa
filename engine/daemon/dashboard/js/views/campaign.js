// One campaign: its lifecycle actions (only those its state allows; the irreversible ones
// ask first), live counters, a chart of sends and deliveries over time, deliverability per
// message of the sequence (with the top error codes), cost, the recipient lists (drag-and-drop
// upload with the import summary and the error log), the recipients with their timelines, and
// the schedule preview (the `simulate` dry run of the campaign as it stands).

import { api } from "../api.js";
import { live } from "../live.js";
import { lineChart } from "../chart.js";
import { navigate, setQuery } from "../nav.js";
import * as format from "../format.js";
import {
  FormError, badge, clearErrors, confirmAction, dialog, download, field, fieldError, h, replace, throttle,
  toast,
} from "../ui.js";

/** The engine's recipient statuses (`RecipientStatus::ALL`). */
const RECIPIENT_STATUSES = [
  "pending", "scheduled", "sending", "sent", "delivered", "failed", "skipped", "expired", "unknown", "opted_out",
];

const TABS = [
  ["overview", "Overview"],
  ["lists", "Lists"],
  ["recipients", "Recipients"],
  ["preview", "Schedule preview"],
];

export function render(main, params, query) {
  const id = Number(params[0]);
  let campaign = null;
  let tab = TABS.some(([t]) => t === query.get("tab")) ? query.get("tab") : "overview";
  const head = h("div", { class: "stack" }, h("div", { class: "loading" }, "Loading…"));
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const body = h("section", { class: "stack" });
  main.append(h("p", {}, h("a", { href: "#/campaigns" }, "← Campaigns")), head, tabs, body);

  const panes = {
    overview: overviewPane(id),
    lists: listsPane(id, () => load()),
    recipients: recipientsPane(id),
    preview: previewPane(id),
  };

  function drawTabs() {
    replace(tabs, TABS.map(([name, label]) => h("button", {
      type: "button", role: "tab", "aria-selected": String(name === tab), dataset: { tab: name },
      onclick: () => {
        tab = name;
        setQuery(name === "overview" ? {} : { tab: name });
        drawTabs();
        showPane();
      },
    }, label)));
  }

  function showPane() {
    replace(body, panes[tab].element);
    panes[tab].load(campaign);
  }

  async function load() {
    try {
      campaign = await api("GET", `/campaigns/${id}`);
    } catch (problem) {
      replace(head, h("div", { class: "form-error", role: "alert" }, problem.message));
      return;
    }
    drawHead();
    panes[tab].load(campaign);
  }

  /** Whether the campaign's state allows `action` (the API lists them, from the lifecycle). */
  function allowed(action) {
    return (campaign.actions || []).includes(action);
  }

  function drawHead() {
    const c = campaign;
    const button = (action, label, handler, primary = false, danger = false) => allowed(action)
      ? h("button", {
        type: "button", class: `${primary ? "primary" : ""}${danger ? " danger" : ""}`.trim() || null,
        dataset: { action }, onclick: handler,
      }, label)
      : null;
    replace(head,
      h("div", { class: "row" },
        h("h1", { dataset: { testid: "campaign-name" } }, c.name),
        h("span", { dataset: { testid: "campaign-state" } }, badge(c.state))),
      h("div", { class: "muted small" },
        "Workflow ", h("a", { href: `#/workflows/${encodeURIComponent(c.workflow.id)}` }, c.workflow.id),
        c.workflow.version ? ` version ${c.workflow.version}` : "",
        c.owner ? ` · owner ${c.owner}` : "",
        c.provider ? ` · provider ${c.provider}` : "",
        c.senders && c.senders.length ? ` · from ${c.senders.join(", ")}` : "",
        ` · created ${format.dateTime(c.created_at)}`,
        c.scheduled_at ? ` · scheduled for ${format.dateTime(c.scheduled_at)}` : "",
        c.started_at ? ` · started ${format.dateTime(c.started_at)}` : "",
        c.tags.length ? ` · tags ${c.tags.join(", ")}` : ""),
      h("div", { class: "actions", "aria-label": "Campaign actions" },
        button("start", "Start now", start, true),
        button("schedule", c.state === "scheduled" ? "Reschedule…" : "Schedule…", schedule),
        button("pause", "Pause", () => act("pause")),
        button("resume", "Resume", () => act("resume"), true),
        button("stop", "Stop…", () => confirmed("stop", "Stop this campaign?",
          "Recipients not yet messaged will not be. Messages already with the provider still go out. You can restart it later, which continues where it stopped.", "Stop campaign")),
        button("restart", "Restart…", () => confirmed("restart", "Restart this campaign?",
          "Sending continues with the recipients who were not messaged yet.", "Restart", false)),
        button("retry-failed", "Retry failed…", () => confirmed("retry-failed", "Retry the failed messages?",
          "Every message that failed is sent again to its recipient.", "Retry failed", false)),
        button("duplicate", "Duplicate…", duplicate),
        button("archive", "Archive…", () => confirmed("archive", "Archive this campaign?",
          "An archived campaign is read-only and hidden from the default list. This cannot be undone (you can still duplicate it).", "Archive")),
        button("delete", "Delete…", remove, false, true)));
  }

  async function act(action) {
    try {
      campaign = await api("POST", `/campaigns/${id}/${action}`);
      toast(`Campaign ${campaign.state}.`);
      drawHead();
      panes[tab].load(campaign);
    } catch (problem) {
      toast(problem.message, "bad");
      load();
    }
  }

  async function confirmed(action, title, text, label, danger = true) {
    if (await confirmAction(title, text, label, danger)) await act(action);
  }

  async function start() {
    const n = campaign.recipients;
    const text = n === 0
      ? "This campaign has no recipients yet: upload a list first, or start it anyway and add lists later."
      : `Messages start going out now to ${format.count(n)} recipient${n === 1 ? "" : "s"}, within each recipient's send window.`;
    if (await confirmAction("Start sending?", text, "Start now", false)) await act("start");
  }

  async function schedule() {
    const at = h("input", { name: "at", type: "datetime-local", required: true });
    const result = await dialog({
      title: "Schedule the campaign",
      confirm: "Schedule",
      body: [field("Start at (your local time)", at,
        "Each recipient still gets messages only inside their own send window.")],
      onSubmit: async () => {
        if (!at.value) throw new FormError("at", "Choose when to start.");
        const when = new Date(at.value);
        if (Number.isNaN(when.getTime())) throw new FormError("at", "This is not a date and time.");
        if (when.getTime() <= Date.now()) throw new FormError("at", "This is in the past: use “Start now” instead.");
        try {
          return await api("POST", `/campaigns/${id}/schedule`, { json: { at: when.toISOString() } });
        } catch (problem) {
          if (problem.status === 400) throw new FormError("at", problem.message);
          throw problem;
        }
      },
    });
    if (result) {
      campaign = result;
      toast(`Scheduled for ${format.dateTime(result.scheduled_at)}.`);
      drawHead();
    }
  }

  async function duplicate() {
    const name = h("input", { name: "name", value: `${campaign.name} (copy)`, maxlength: 200 });
    const copy = await dialog({
      title: "Duplicate the campaign",
      confirm: "Duplicate",
      body: [h("p", {}, "A new draft with the same workflow version and lists."), field("Name", name)],
      onSubmit: async () => {
        if (!name.value.trim()) throw new FormError("name", "Give the copy a name.");
        try {
          return await api("POST", `/campaigns/${id}/duplicate`, { json: { name: name.value.trim() } });
        } catch (problem) {
          if (problem.status === 400) throw new FormError("name", problem.message);
          throw problem;
        }
      },
    });
    if (copy) {
      toast(`Draft “${copy.name}” created.`);
      navigate(`campaigns/${copy.id}`);
    }
  }

  async function remove() {
    if (!await confirmAction("Delete this campaign?",
      "Its recipients, messages and statistics are deleted. This cannot be undone.", "Delete")) return;
    try {
      await api("DELETE", `/campaigns/${id}`);
      toast("Campaign deleted.");
      navigate("campaigns");
    } catch (problem) {
      toast(problem.message, "bad");
    }
  }

  drawTabs();
  replace(body, panes[tab].element);
  const refresh = throttle(load, 1000);
  const unsubscribe = live.subscribe(["campaign", "message", "recipient", "resync"], (kind, data) => {
    if (kind === "resync" || (data && data.campaign === id)) refresh();
  });
  // Deliveries and replies also move the figures; a slow poll covers what events do not say.
  const timer = setInterval(() => { if (campaign && ["sending", "retrying", "scheduled"].includes(campaign.state)) refresh(); }, 5000);
  load();
  return () => {
    unsubscribe();
    clearInterval(timer);
  };
}

/** Counters, chart, per-step deliverability, cost. */
function overviewPane(id) {
  const counters = h("div", { class: "counters", dataset: { testid: "counters" } });
  const chart = h("div", { class: "panel" }, h("div", { class: "loading" }, "Loading…"));
  const steps = h("div", { class: "table-wrap" });
  const element = h("div", { class: "stack" }, counters,
    h("h2", {}, "Sends and deliveries"), chart,
    h("h2", {}, "Deliverability by message"), steps);

  async function load(campaign) {
    if (!campaign) return;
    let stats;
    try {
      stats = await api("GET", `/campaigns/${id}/stats`);
    } catch (problem) {
      replace(counters, h("div", { class: "form-error" }, problem.message));
      return;
    }
    const counts = campaign.counts || {};
    const pending = ["pending", "scheduled", "sending"].reduce((sum, s) => sum + (counts[s] || 0), 0);
    const counter = (name, label, value, extra = null) => h("div", { class: "counter", dataset: { counter: name } },
      h("div", { class: "value" }, value), h("div", { class: "label" }, label, extra ? h("span", {}, ` · ${extra}`) : null));
    replace(counters,
      counter("recipients", "Recipients", format.count(stats.total)),
      counter("pending", "Still to message", format.count(pending)),
      counter("sent", "Messages sent", format.count(stats.sent)),
      counter("delivered", "Delivered", format.count(stats.delivered), format.share(stats.delivered, stats.sent)),
      counter("failed", "Failed", format.count(stats.failed)),
      counter("responded", "Replied", format.count(stats.responded), format.percent(stats.response_rate)),
      counter("opted_out", "Opted out", format.count(stats.opted_out)),
      counter("segments", "Segments", format.count(stats.segments)),
      counter("cost", "Estimated cost", stats.estimated_cost === null || stats.estimated_cost === undefined
        ? "—" : format.money(stats.estimated_cost), stats.estimated_cost === null ? "no price set" : null));
    drawSteps(stats);
    try {
      const activity = await api("GET", `/campaigns/${id}/activity`);
      replace(chart, activity.points.length
        ? lineChart(activity.points)
        : h("div", { class: "empty" }, "Nothing sent yet."),
      activity.points.length ? h("div", { class: "muted small" }, `per ${format.duration(activity.bucket_seconds)}`) : null);
    } catch (problem) {
      replace(chart, h("div", { class: "muted" }, `No activity figures: ${problem.message}`));
    }
  }

  function drawSteps(stats) {
    const entries = Object.entries(stats.steps || {});
    if (entries.length === 0) {
      replace(steps, h("div", { class: "empty" }, "No message has been answered by the provider yet."));
      return;
    }
    replace(steps, h("table", { "aria-label": "Deliverability by message", dataset: { testid: "steps" } },
      h("thead", {}, h("tr", {},
        ["Message", "Sent", "Delivered", "Failed", "Top errors", "Replied", "Opted out", "Segments"].map((label, i) =>
          h("th", { class: i > 0 && i !== 4 ? "num" : null }, label)))),
      h("tbody", {}, entries.map(([step, s]) => h("tr", { dataset: { step } },
        h("td", { class: "mono" }, step),
        h("td", { class: "num" }, format.count(s.sent)),
        h("td", { class: "num" }, format.count(s.delivered), h("div", { class: "muted small" }, format.share(s.delivered, s.sent))),
        h("td", { class: "num" }, format.count(s.failed), s.unknown ? h("div", { class: "muted small" }, `${s.unknown} unknown`) : null),
        h("td", { class: "small" }, (s.errors || []).length
          ? (s.errors || []).map((e) => h("div", {}, h("span", { class: "mono" }, e.code), ` × ${format.count(e.count)}`))
          : "—"),
        h("td", { class: "num" }, format.count(s.replied)),
        h("td", { class: "num" }, format.count(s.opted_out)),
        h("td", { class: "num" }, format.count(s.segments)))))));
  }

  return { element, load };
}

/** Recipient lists: drag-and-drop upload, the import summaries, the error logs. */
function listsPane(id, changed) {
  const input = h("input", { type: "file", accept: ".csv,.tsv,.txt,.jsonl,.ndjson,text/csv", class: "hidden", dataset: { testid: "list-file" } });
  const region = h("input", { name: "region", value: "US", size: 4, autocomplete: "off" });
  const timezone = h("input", { name: "timezone", placeholder: "e.g. America/New_York" });
  const status = h("div", { "aria-live": "polite" });
  const zone = h("div", { class: "dropzone", dataset: { testid: "dropzone" } },
    h("p", {}, "Drop a CSV or JSON Lines file of recipients here, or ",
      h("button", { type: "button", class: "link", onclick: () => input.click() }, "choose a file"), "."),
    h("p", { class: "muted small" }, "A phone column is required; other columns become template fields."),
    input);
  const options = h("form", { class: "filters", novalidate: true },
    field("Region of numbers without a country code", region),
    field("Timezone of rows that name none", timezone, "Else inferred from the number."));
  const table = h("div", { class: "table-wrap" });
  const element = h("div", { class: "stack" }, zone, options, status, h("h2", {}, "Lists"), table);
  let campaign = null;

  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.remove("over"); });
  }
  zone.addEventListener("drop", (event) => {
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) upload(file);
  });
  input.addEventListener("change", () => {
    if (input.files[0]) upload(input.files[0]);
    input.value = "";
  });

  async function upload(file) {
    clearErrors(options);
    if (!/^[A-Za-z]{2}$/.test(region.value.trim())) {
      fieldError(region, "Two letters, like US or GB.");
      return;
    }
    if (campaign && campaign.state === "archived") {
      replace(status, h("div", { class: "form-error", role: "alert" }, "An archived campaign takes no new list."));
      return;
    }
    replace(status, h("div", { class: "banner info" }, `Importing ${file.name}…`));
    try {
      const list = await api("POST", `/campaigns/${id}/lists`, {
        body: file,
        query: { filename: file.name, region: region.value.trim().toUpperCase(), timezone: timezone.value.trim() },
        headers: { "Content-Type": file.type || "text/csv" },
      });
      replace(status, summary(list, file.name));
      changed();
    } catch (problem) {
      if (/timezone/i.test(problem.message)) fieldError(timezone, problem.message);
      replace(status, h("div", { class: "form-error", role: "alert", dataset: { testid: "upload-error" } },
        `${file.name}: ${problem.message}`));
    }
  }

  function summary(list, filename) {
    const s = list.summary;
    const reasons = Object.entries(s.rejected_by_reason || {});
    return h("div", { class: "panel", dataset: { testid: "import-summary" } },
      h("h3", {}, `${filename}: ${format.count(s.imported)} recipient${s.imported === 1 ? "" : "s"} imported`),
      h("dl", { class: "fields" },
        h("dt", {}, "Rows read"), h("dd", {}, format.count(s.rows_read)),
        h("dt", {}, "Imported"), h("dd", { dataset: { field: "imported" } }, format.count(s.imported)),
        h("dt", {}, "Rejected"), h("dd", { dataset: { field: "rejected" } }, format.count(s.rejected)),
        h("dt", {}, "Duplicates"), h("dd", {}, format.count(s.duplicates)),
        h("dt", {}, "Landlines"), h("dd", {}, format.count(s.landlines)),
        h("dt", {}, "Already opted out"), h("dd", {}, format.count(s.opted_out))),
      reasons.length ? h("ul", {}, reasons.map(([reason, n]) => h("li", {}, h("span", { class: "mono" }, reason), ` × ${n}`))) : null,
      s.rejected ? errorLogButton(list) : null);
  }

  function errorLogButton(list) {
    return h("button", {
      type: "button", dataset: { testid: "error-log" },
      onclick: async () => {
        try {
          const response = await api("GET", `/campaigns/${id}/lists/${list.id}/errors`, { query: { format: "csv" }, raw: true });
          download(await response.blob(), `${list.name}-errors.csv`);
        } catch (problem) {
          toast(problem.message, "bad");
        }
      },
    }, "Download the error log (CSV)");
  }

  async function load(current) {
    campaign = current;
    try {
      const lists = await api("GET", `/campaigns/${id}/lists`);
      replace(table, lists.length === 0
        ? h("div", { class: "empty" }, "No list yet.")
        : h("table", { "aria-label": "Lists" },
          h("thead", {}, h("tr", {}, ["Name", "File", "State", "Imported", "Rejected", "Duplicates", "When", ""].map((l) => h("th", {}, l)))),
          h("tbody", {}, lists.map((list) => h("tr", {},
            h("td", {}, list.name), h("td", { class: "small" }, list.source || "—"), h("td", {}, badge(list.state)),
            h("td", { class: "num" }, format.count(list.summary.imported)),
            h("td", { class: "num" }, format.count(list.summary.rejected)),
            h("td", { class: "num" }, format.count(list.summary.duplicates)),
            h("td", { class: "nowrap small" }, format.dateTime(list.imported_at)),
            h("td", {}, list.summary.rejected ? errorLogButton(list) : null))))));
    } catch (problem) {
      replace(table, h("div", { class: "form-error" }, problem.message));
    }
  }

  return { element, load };
}

/** Recipients by status, paged by cursor, each with its message timeline. */
function recipientsPane(id) {
  const filter = h("select", { name: "status" }, h("option", { value: "" }, "Any status"),
    RECIPIENT_STATUSES.map((s) => h("option", { value: s }, s.replace("_", " "))));
  const rows = h("tbody", {});
  const more = h("button", { type: "button", class: "hidden" }, "Load more");
  const timeline = h("div", { class: "panel muted" }, "Choose a recipient to see their messages.");
  const element = h("div", { class: "stack" },
    h("div", { class: "filters" }, field("Status", filter)),
    h("div", { class: "split" },
      h("div", {}, h("div", { class: "table-wrap" }, h("table", { "aria-label": "Recipients" },
        h("thead", {}, h("tr", {}, ["#", "Phone", "Status", "Sent", "Replied"].map((l) => h("th", {}, l)))), rows)), more),
      timeline));
  let next = null;
  let loaded = false;

  async function page(reset) {
    if (reset) {
      next = null;
      replace(rows);
    }
    try {
      const answer = await api("GET", `/campaigns/${id}/recipients`, { query: { status: filter.value, after: next ?? "", limit: 50 } });
      rows.append(...answer.recipients.map((r) => h("tr", { class: "clickable", dataset: { seq: r.seq }, onclick: () => show(r.seq) },
        h("td", { class: "num" }, String(r.seq)), h("td", { class: "mono" }, r.phone), h("td", {}, badge(r.status.replace("_", " "), r.status),
          r.reason ? h("div", { class: "muted small" }, `${r.reason.code}: ${r.reason.message}`) : null),
        h("td", { class: "num" }, String(r.sent)), h("td", {}, r.responded ? "yes" : ""))));
      if (reset && answer.recipients.length === 0) rows.append(h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No recipient.")));
      next = answer.next;
      more.classList.toggle("hidden", next === null || next === undefined);
    } catch (problem) {
      rows.append(h("tr", {}, h("td", { colspan: 5, class: "form-error" }, problem.message)));
    }
  }

  async function show(seq) {
    rows.querySelectorAll("tr.selected").forEach((r) => r.classList.remove("selected"));
    const row = rows.querySelector(`tr[data-seq="${seq}"]`);
    if (row) row.classList.add("selected");
    try {
      const r = await api("GET", `/campaigns/${id}/recipients/${seq}`);
      replace(timeline,
        h("h3", {}, r.phone, " ", badge(r.status.replace("_", " "), r.status)),
        h("dl", { class: "fields" },
          Object.entries(r.fields).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
          Object.entries(r.vars).map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "string" ? v : JSON.stringify(v))]),
          r.next_wake ? [h("dt", {}, "Next step"), h("dd", {}, format.dateTime(r.next_wake))] : null),
        h("div", { class: "timeline", dataset: { testid: "recipient-timeline" } },
          r.messages.length === 0 ? h("div", { class: "muted" }, "No message yet.") : null,
          r.messages.map((m) => h("div", { class: "bubble outbound" }, m.outbound.body,
            h("span", { class: "meta" }, `${m.outbound.step_id} · `, badge(m.status), ` · ${format.dateTime(m.created_at)}`,
              m.error ? ` · ${m.error.code}: ${m.error.message}` : "",
              m.outbound.segments > 1 ? ` · ${m.outbound.segments} segments` : "")))));
      timeline.classList.remove("muted");
    } catch (problem) {
      replace(timeline, h("div", { class: "form-error" }, problem.message));
    }
  }

  filter.addEventListener("change", () => page(true));
  more.addEventListener("click", () => page(false));
  return {
    element,
    load() {
      if (!loaded) {
        loaded = true;
        page(true);
      }
    },
  };
}

/** The schedule preview: the campaign simulated on a virtual clock with a recording provider. */
function previewPane(id) {
  const limit = h("input", { name: "limit", type: "number", min: 1, max: 200, value: 20, size: 5 });
  const output = h("div", { class: "stack" });
  const run = h("button", { type: "button", class: "primary", dataset: { testid: "preview-run" } }, "Preview the schedule");
  const form = h("div", { class: "filters" }, field("Recipients to simulate", limit), run);
  const element = h("div", { class: "stack" },
    h("p", { class: "muted" },
      "A dry run of this campaign as it stands: its workflow version and first recipients, on a virtual clock, ",
      "against a recording provider. Nothing is sent."),
    form, output);

  run.addEventListener("click", async () => {
    clearErrors(form);
    const n = Number(limit.value);
    if (!Number.isInteger(n) || n < 1 || n > 200) {
      fieldError(limit, "A whole number from 1 to 200.");
      return;
    }
    run.disabled = true;
    replace(output, h("div", { class: "loading" }, "Simulating…"));
    try {
      draw(await api("GET", `/campaigns/${id}/preview`, { query: { limit: n } }));
    } catch (problem) {
      replace(output, h("div", { class: "form-error", role: "alert" }, problem.message));
    } finally {
      run.disabled = false;
    }
  });

  function draw(preview) {
    const plans = preview.plans || preview.recipients || [];
    if (plans.length === 0) {
      replace(output, h("div", { class: "empty" }, "This campaign has no recipients to preview: upload a list first."));
      return;
    }
    replace(output,
      h("p", { class: "small" },
        preview.start ? `Starting ${format.dateTime(preview.start)}` : "",
        preview.recipients_total !== undefined ? ` · ${plans.length} of ${format.count(preview.recipients_total)} recipients` : ""),
      h("div", { class: "table-wrap" }, h("table", { "aria-label": "Schedule preview", dataset: { testid: "preview" } },
        h("thead", {}, h("tr", {}, ["Recipient", "Message", "Local time", "UTC", "Segments", "Text"].map((l) => h("th", {}, l)))),
        h("tbody", {}, plans.flatMap((plan) => plan.messages.length === 0
          ? [h("tr", {}, h("td", { class: "mono" }, plan.phone), h("td", { colspan: 5 }, badge(plan.status), " ", plan.reason || ""))]
          : plan.messages.map((m, i) => h("tr", {},
            h("td", { class: "mono" }, i === 0 ? plan.phone : ""),
            h("td", { class: "mono" }, m.step, m.variant && m.variant !== "default" ? ` (${m.variant})` : ""),
            h("td", { class: "nowrap" }, m.send_local),
            h("td", { class: "nowrap small" }, format.dateTime(m.send_utc)),
            h("td", { class: "num" }, String(m.segments)),
            h("td", {}, m.body))))))));
  }

  return { element, load() {} };
}

