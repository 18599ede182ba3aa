// The campaign list: filters (status, name, tag, start dates), sortable columns, pages, live
// refresh on campaign events; "New campaign" creates a draft from a loaded workflow. The
// filters, sort and page live in the URL's hash, so a reload or a shared link keeps them.

import { api, session } from "../api.js";
import { live } from "../live.js";
import { navigate } from "../nav.js";
import * as format from "../format.js";
import { FormError, badge, dialog, field, h, replace, throttle, toast } from "../ui.js";

const STATES = ["draft", "scheduled", "sending", "paused", "retrying", "completed", "stopped", "archived"];

const COLUMNS = [
  { key: "name", label: "Name" },
  { key: "state", label: "Status" },
  { key: "started_at", label: "Start date" },
  { key: "owner", label: "Owner" },
  { key: "sender", label: "Sender" },
  { key: "messages", label: "Messages", num: true },
  { key: "recipients", label: "List size", num: true },
  { key: "progress", label: "Progress" },
];

const PER_PAGE = 25;

export function render(main, _params, query) {
  const state = {
    status: query.get("status") || "",
    name: query.get("name") || "",
    tag: query.get("tag") || "",
    from: query.get("from") || "",
    to: query.get("to") || "",
    sort: query.get("sort") || "created_at",
    order: query.get("order") || "desc",
    page: Number(query.get("page") || 1),
  };

  const status = h("select", { name: "status" },
    h("option", { value: "" }, "All but archived"),
    STATES.map((s) => h("option", { value: s, selected: s === state.status }, s)));
  const name = h("input", { name: "name", type: "search", value: state.name, placeholder: "Part of the name" });
  const tag = h("input", { name: "tag", value: state.tag, placeholder: "Tag" });
  const from = h("input", { name: "from", type: "date", value: state.from });
  const to = h("input", { name: "to", type: "date", value: state.to });
  const filters = h("form", { class: "filters", role: "search", novalidate: true },
    field("Status", status), field("Name", name), field("Tag", tag),
    field("Started from", from), field("Started until", to),
    h("button", { type: "submit" }, "Filter"),
    h("button", { type: "button", onclick: () => navigate("campaigns") }, "Clear"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    go({ status: status.value, name: name.value.trim(), tag: tag.value.trim(), from: from.value, to: to.value, page: 1 });
  });
  status.addEventListener("change", () => filters.requestSubmit());

  const table = h("div", { class: "table-wrap" }, h("div", { class: "loading" }, "Loading…"));
  const pager = h("div", { class: "pager" });
  main.append(
    h("div", { class: "row" }, h("h1", {}, "Campaigns"), h("span", { class: "spacer" }),
      h("button", { class: "primary", type: "button", onclick: create }, "New campaign")),
    filters, table, pager);

  function go(change) {
    const next = { ...state, ...change };
    const query = {};
    for (const [key, value] of Object.entries(next)) {
      if (value && !(key === "page" && value === 1) && !(key === "sort" && value === "created_at")
        && !(key === "order" && value === "desc")) query[key] = value;
    }
    navigate("campaigns", query);
  }

  async function load() {
    const query = {
      status: state.status, name: state.name, tag: state.tag, sort: state.sort, order: state.order,
      page: state.page, per_page: PER_PAGE,
      started_after: state.from ? new Date(`${state.from}T00:00:00`).toISOString() : "",
      started_before: state.to ? new Date(`${state.to}T23:59:59.999`).toISOString() : "",
    };
    try {
      const page = await api("GET", "/campaigns", { query });
      draw(page);
    } catch (problem) {
      replace(table, h("div", { class: "form-error", role: "alert" }, problem.message));
    }
  }

  function header() {
    return h("tr", {}, COLUMNS.map((column) => {
      const sorted = state.sort === column.key;
      return h("th", {
        class: column.num ? "num" : null,
        "aria-sort": sorted ? (state.order === "asc" ? "ascending" : "descending") : "none",
      }, h("button", {
        class: "sort", type: "button", title: `Sort by ${column.label.toLowerCase()}`,
        onclick: () => go({ sort: column.key, order: sorted && state.order === "desc" ? "asc" : "desc", page: 1 }),
      }, column.label));
    }));
  }

  function draw(page) {
    if (page.campaigns.length === 0) {
      replace(table, h("div", { class: "empty" }, page.total === 0 && !state.status && !state.name && !state.tag
        ? "No campaigns yet. Create one from a workflow with “New campaign”."
        : "No campaign matches these filters."));
    } else {
      replace(table, h("table", { "aria-label": "Campaigns" }, h("thead", {}, header()),
        h("tbody", {}, page.campaigns.map(row))));
    }
    const first = (page.page - 1) * page.per_page + 1;
    const last = Math.min(page.total, page.page * page.per_page);
    const pages = Math.max(1, Math.ceil(page.total / page.per_page));
    replace(pager,
      h("span", { class: "muted small" }, page.total ? `${first}–${last} of ${page.total}` : ""),
      h("button", { type: "button", disabled: page.page <= 1, onclick: () => go({ page: page.page - 1 }) }, "Previous"),
      h("span", { class: "small" }, `Page ${page.page} of ${pages}`),
      h("button", { type: "button", disabled: page.page >= pages, onclick: () => go({ page: page.page + 1 }) }, "Next"));
  }

  function row(c) {
    const progress = typeof c.progress === "number" ? c.progress : 0;
    return h("tr", { class: "clickable", dataset: { id: c.id }, onclick: () => navigate(`campaigns/${c.id}`) },
      h("td", {}, h("a", { href: `#/campaigns/${c.id}` }, c.name),
        c.tags.length ? h("div", { class: "muted small" }, c.tags.join(", ")) : null),
      h("td", {}, badge(c.state)),
      h("td", { class: "nowrap" }, format.dateTime(c.started_at || c.scheduled_at)),
      h("td", {}, c.owner || "—"),
      h("td", { class: "small" }, (c.senders && c.senders.length ? c.senders.join(", ") : c.provider) || "—"),
      h("td", { class: "num" }, format.count(c.messages)),
      h("td", { class: "num" }, format.count(c.recipients)),
      h("td", { class: "nowrap" },
        h("span", { class: "progress", role: "progressbar", "aria-valuenow": Math.round(progress * 100), "aria-valuemin": 0, "aria-valuemax": 100 },
          h("span", { style: { width: `${Math.round(progress * 100)}%` } })),
        " ", h("span", { class: "small" }, format.percent(progress, 0))));
  }

  const refresh = throttle(load, 1000);
  const unsubscribe = live.subscribe(["campaign", "resync"], refresh);
  // Message counts and progress move without campaign events: a slow poll keeps them fresh.
  const timer = setInterval(refresh, 5000);
  load();
  return () => {
    unsubscribe();
    clearInterval(timer);
  };
}

/** The "New campaign" dialog: name, workflow (a loaded campaign workflow), tags. */
async function create() {
  let workflows = [];
  try {
    workflows = (await api("GET", "/workflows"))
      .filter((w) => w.kind === "campaign" && w.version !== null && w.status !== "removed");
  } catch (problem) {
    toast(problem.message, "bad");
    return;
  }
  const name = h("input", { name: "name", required: true, maxlength: 200 });
  const workflow = h("select", { name: "workflow", required: true },
    h("option", { value: "" }, "Choose a workflow…"),
    workflows.map((w) => h("option", { value: w.id }, `${w.id} (version ${w.version})`)));
  const tags = h("input", { name: "tags", placeholder: "Comma-separated" });
  const created = await dialog({
    title: "New campaign",
    confirm: "Create draft",
    body: [
      field("Name", name), field("Workflow", workflow, workflows.length ? null : "No campaign workflow is loaded."),
      field("Tags", tags),
    ],
    onSubmit: async () => {
      if (!name.value.trim()) throw new FormError("name", "Give the campaign a name.");
      if (name.value.trim().length > 200) throw new FormError("name", "At most 200 characters.");
      if (!workflow.value) throw new FormError("workflow", "Choose the workflow it runs.");
      const tagList = tags.value.split(",").map((t) => t.trim()).filter(Boolean);
      try {
        return await api("POST", "/campaigns", {
          json: { name: name.value.trim(), workflow: workflow.value, tags: tagList, owner: session.agent || undefined },
        });
      } catch (problem) {
        if (problem.code === "workflow") throw new FormError("workflow", problem.message);
        if (/name/i.test(problem.message)) throw new FormError("name", problem.message);
        throw problem;
      }
    },
  });
  if (created) {
    toast(`Campaign “${created.name}” created.`);
    navigate(`campaigns/${created.id}`);
  }
}
