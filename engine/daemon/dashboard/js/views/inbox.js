// The agent inbox: conversations on the left (queue, state and "mine only" filters, kept in
// the URL's query), the chosen one on the right — its header and actions (claim, assign,
// close), the opt-out banner, guidance (ranked suggestions, flags, saved fields, tags, the
// pending question), the timeline, the reply box (live segment count; quiet-hours, opt-out
// and assignment warnings; the server's refusals inline) and the note box.
//
// Live `conversation` and `conversation_message` events (and `resync`) refresh the list and
// the open conversation, throttled. A refresh redraws the header, guidance and timeline only:
// the reply and note boxes are built once per conversation so typing, focus and the draft
// survive it. Drafts are kept per conversation while the page lives.

import { api, session } from "../api.js";
import { live } from "../live.js";
import * as format from "../format.js";
import { segmentInfo } from "../segments.js";
import {
  FormError, badge, clearErrors, confirmAction, dialog, field, fieldError, h, replace, throttle, toast,
} from "../ui.js";

const STATE_TABS = [
  ["all", "All"],
  ["open", "Open"],
  ["assigned", "Assigned"],
  ["closed", "Closed"],
];

const PER_PAGE = 50;
const REFRESH_MS = 500;
/** Relative times ("3 min ago") and the quiet-hours hold go stale without events. */
const SLOW_POLL_MS = 30000;

/** Queues seen in any listing this page showed (the API has no list of queues). */
const knownQueues = new Set();
/** Unsent replies by conversation id. */
const drafts = new Map();

export function render(main, params, query) {
  const filters = {
    queue: query.get("queue") || "",
    state: STATE_TABS.some(([s]) => s === query.get("state")) ? query.get("state") : "all",
    mine: query.get("mine") === "1",
    page: Math.max(1, Number(query.get("page")) || 1),
  };
  if (filters.queue) knownQueues.add(filters.queue);
  let selected = params[0] ? Number(params[0]) : null;
  let disposed = false;

  // ---- the list --------------------------------------------------------------------------
  const queueSelect = h("select", { name: "queue", "aria-label": "Queue" });
  queueSelect.addEventListener("change", () => { filters.queue = queueSelect.value; filters.page = 1; filtersChanged(); });
  const mine = h("input", { type: "checkbox", name: "mine", checked: filters.mine });
  mine.addEventListener("change", () => { filters.mine = mine.checked; filters.page = 1; filtersChanged(); });
  const tabs = h("div", { class: "tabs inbox-tabs", role: "tablist", "aria-label": "Conversation state" });
  const list = h("div", { class: "list", "aria-label": "Conversation list" },
    h("div", { class: "loading" }, "Loading…"));
  const pager = h("div", { class: "pager" });
  const left = h("section", { class: "inbox-list", "aria-label": "Conversations" },
    h("div", { class: "filters" }, field("Queue", queueSelect),
      h("label", { class: "check" }, mine, " Mine only")),
    tabs, list, pager);

  // ---- the conversation ------------------------------------------------------------------
  const detail = h("section", { class: "inbox-detail", "aria-label": "Conversation" });
  main.append(h("h1", {}, "Inbox"), h("div", { class: "split" }, left, detail));

  function drawQueues() {
    replace(queueSelect, h("option", { value: "" }, "All queues"),
      [...knownQueues].sort().map((q) => h("option", { value: q, selected: q === filters.queue }, q)));
    queueSelect.value = filters.queue;
  }

  function drawTabs() {
    replace(tabs, STATE_TABS.map(([name, label]) => h("button", {
      type: "button", role: "tab", "aria-selected": String(name === filters.state), dataset: { state: name },
      onclick: () => { filters.state = name; filters.page = 1; filtersChanged(); },
    }, label)));
  }

  /** The route of the current selection and filters (what a reload should show again). */
  function routeQuery() {
    const q = {};
    if (filters.queue) q.queue = filters.queue;
    if (filters.state !== "all") q.state = filters.state;
    if (filters.mine) q.mine = "1";
    if (filters.page > 1) q.page = String(filters.page);
    const text = new URLSearchParams(q).toString();
    return `#/inbox${selected ? `/${selected}` : ""}${text ? `?${text}` : ""}`;
  }

  function filtersChanged() {
    history.replaceState(null, "", routeQuery());
    drawTabs();
    loadList();
  }

  let listSeq = 0;
  async function loadList() {
    const seq = ++listSeq;
    try {
      const page = await api("GET", "/conversations", {
        query: {
          queue: filters.queue,
          state: filters.state === "all" ? "" : filters.state,
          assignee: filters.mine ? session.agent : "",
          page: filters.page,
          per_page: PER_PAGE,
        },
      });
      if (disposed || seq !== listSeq) return;
      drawList(page);
    } catch (problem) {
      if (disposed || seq !== listSeq) return;
      replace(list, h("div", { class: "form-error", role: "alert" }, problem.message));
    }
  }

  function drawList(page) {
    let grew = false;
    for (const c of page.conversations) {
      if (c.queue && !knownQueues.has(c.queue)) {
        knownQueues.add(c.queue);
        grew = true;
      }
    }
    if (grew) drawQueues();
    const filtered = filters.queue || filters.state !== "all" || filters.mine;
    if (page.conversations.length === 0) {
      replace(list, h("div", { class: "empty" }, filtered && page.total === 0
        ? "No conversation matches these filters."
        : page.total === 0 ? "No conversations yet." : "Nothing on this page."));
    } else {
      replace(list, page.conversations.map(listItem));
    }
    const pages = Math.max(1, Math.ceil(page.total / page.per_page));
    const go = (n) => { filters.page = n; filtersChanged(); };
    replace(pager,
      h("span", { class: "muted small" }, page.total ? `${page.total} conversation${page.total === 1 ? "" : "s"}` : ""),
      pages > 1 ? [
        h("button", { type: "button", disabled: page.page <= 1, onclick: () => go(page.page - 1) }, "Previous"),
        h("span", { class: "small" }, `Page ${page.page} of ${pages}`),
        h("button", { type: "button", disabled: page.page >= pages, onclick: () => go(page.page + 1) }, "Next"),
      ] : null);
  }

  function listItem(c) {
    return h("button", {
      type: "button", class: "list-item",
      "aria-current": c.id === selected ? "true" : null,
      dataset: { testid: "conversation", id: c.id, state: c.state },
      onclick: () => select(c.id),
    },
    h("span", { class: "title" }, h("span", { class: "contact" }, c.contact), badge(c.state),
      c.opted_out ? badge("opted out", "opted-out") : null,
      c.flags.map((flag) => badge(flag, "flag"))),
    h("span", { class: "muted small row" },
      h("span", {}, c.queue ? `Queue ${c.queue}` : "No queue"),
      h("span", {}, c.assignee ? `· ${c.assignee}` : "· unassigned"),
      h("span", { class: "spacer" }),
      h("time", { datetime: c.last_activity_at, title: format.dateTime(c.last_activity_at) },
        format.ago(c.last_activity_at))));
  }

  function markSelected() {
    list.querySelectorAll(".list-item").forEach((item) => {
      if (Number(item.dataset.id) === selected) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    });
  }

  // ---- one conversation ------------------------------------------------------------------
  /** The open conversation's pieces; null when none is shown. */
  let pane = null;

  /** Shows conversation `id` without re-rendering the page (the list and filters stay). */
  function select(id) {
    if (id === selected && pane) return;
    selected = id;
    history.pushState(null, "", routeQuery());
    markSelected();
    openPane();
  }

  function openPane() {
    if (pane) pane.close();
    pane = selected ? conversationPane(selected) : null;
    if (pane) replace(detail, pane.element);
    else replace(detail, h("div", { class: "panel empty" }, "Choose a conversation on the left."));
  }

  const refreshList = throttle(loadList, REFRESH_MS);
  let detailDirty = false;
  const refreshDetail = throttle(() => {
    if (!detailDirty || !pane) return;
    detailDirty = false;
    pane.load();
  }, REFRESH_MS);

  const unsubscribe = live.subscribe(["conversation", "conversation_message", "resync"], (kind, data) => {
    refreshList();
    if (kind === "resync" || !data || Number(data.conversation) === selected) {
      detailDirty = true;
      refreshDetail();
    }
  });
  const timer = setInterval(() => {
    refreshList();
    detailDirty = true;
    refreshDetail();
  }, SLOW_POLL_MS);

  // Back and forward between conversations arrive as hashchange: main.js renders the view
  // again from the URL (select() pushes history entries without one).
  drawQueues();
  drawTabs();
  loadList();
  openPane();

  return () => {
    disposed = true;
    unsubscribe();
    clearInterval(timer);
    if (pane) pane.close();
  };
}

/**
 * The pane of one conversation: `element`, `load()` to refetch it, `close()` when it goes
 * away (keeps the draft).
 */
function conversationPane(id) {
  let view = null;
  let closed = false;
  let loadSeq = 0;

  const head = h("div", { class: "conversation-head" }, h("div", { class: "loading" }, "Loading…"));
  const optOut = h("div", { class: "banner bad hidden", role: "alert", dataset: { testid: "opted-out" } });
  const guidance = h("aside", { class: "panel guidance", "aria-label": "Guidance", dataset: { testid: "guidance" } });
  const timeline = h("div", { class: "timeline", role: "log", "aria-label": "Timeline", dataset: { testid: "timeline" } });

  // The reply box: built once, so a refresh never loses what is being typed.
  const text = h("textarea", {
    name: "text", rows: 4, placeholder: "Write a reply…", dataset: { testid: "reply-text" },
    value: drafts.get(id) || "",
  });
  const counter = h("div", { class: "segment-counter", "aria-live": "polite", dataset: { testid: "segment-counter" } });
  const send = h("button", { class: "primary", type: "submit", dataset: { testid: "reply-send" } }, "Send reply");
  const quiet = h("div", { class: "banner warn hidden", role: "status", dataset: { testid: "quiet-hours" } });
  const notMine = h("div", { class: "banner info hidden", role: "status", dataset: { testid: "not-mine" } });
  const reply = h("form", { class: "reply-box panel", novalidate: true, "aria-label": "Reply" },
    h("h3", {}, "Reply"), quiet, notMine, field("Message to the contact", text), counter,
    h("div", { class: "actions" }, send, h("span", { class: "muted small" }, "Ctrl+Enter sends")));
  let sending = false;

  const noteText = h("textarea", { name: "note", rows: 2, placeholder: "Only agents see notes", dataset: { testid: "note-text" } });
  const noteAdd = h("button", { type: "submit", dataset: { testid: "note-add" } }, "Add note");
  const notes = h("form", { class: "note-box panel", novalidate: true, "aria-label": "Note" },
    field("Note", noteText), h("div", { class: "actions" }, noteAdd));

  const element = h("div", { class: "stack conversation" },
    head, optOut, h("div", { class: "conversation-body" },
      h("div", { class: "stack" }, timeline, reply, notes), guidance));

  function count() {
    const info = segmentInfo(text.value);
    const encoding = info.encoding === "gsm7" ? "GSM-7" : "UCS-2";
    counter.classList.toggle("many", info.segments > 1);
    counter.dataset.segments = String(info.segments);
    counter.dataset.encoding = info.encoding;
    replace(counter,
      `${info.chars} character${info.chars === 1 ? "" : "s"} · ${info.segments} segment${info.segments === 1 ? "" : "s"} · ${encoding}`,
      info.encoding === "ucs2" && info.non_gsm_chars.length
        ? h("span", { class: "non-gsm" }, ` (not in GSM-7: ${info.non_gsm_chars.map((c) => JSON.stringify(c)).join(" ")})`)
        : null);
  }

  text.addEventListener("input", () => {
    drafts.set(id, text.value);
    count();
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      reply.requestSubmit();
    }
  });
  reply.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    clearErrors(reply);
    const body = text.value.trim();
    if (!body) return replyError("Write a reply first.");
    sending = true;
    drawReplyState();
    try {
      const entry = await api("POST", `/conversations/${id}/reply`, { json: { agent: session.agent, text: body } });
      if (text.value.trim() === body) {
        text.value = "";
        drafts.delete(id);
        count();
      }
      const due = entry && entry.due_at ? new Date(entry.due_at) : null;
      toast(due && due.getTime() > Date.now() + 5000
        ? `Reply queued: it goes out at ${format.dateTime(entry.due_at)}.`
        : "Reply sent.");
    } catch (problem) {
      replyError(problem.message);
    } finally {
      sending = false;
      if (!closed) load();
    }
  });

  notes.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(notes);
    const body = noteText.value.trim();
    if (!body) {
      fieldError(noteText, "Write the note first.");
      return;
    }
    noteAdd.disabled = true;
    try {
      await api("POST", `/conversations/${id}/notes`, { json: { agent: session.agent, text: body } });
      noteText.value = "";
      load();
    } catch (problem) {
      fieldError(noteText, problem.message);
    } finally {
      noteAdd.disabled = false;
    }
  });

  /** The reply box's inline error (empty text, or the server's refusal). */
  function replyError(message) {
    fieldError(text, message).dataset.testid = "reply-error";
    text.focus();
  }

  async function load() {
    const seq = ++loadSeq;
    try {
      const answer = await api("GET", `/conversations/${id}`);
      if (closed || seq !== loadSeq) return;
      draw(answer);
    } catch (problem) {
      if (closed || seq !== loadSeq) return;
      if (problem.status === 404) {
        replace(element, h("div", { class: "panel empty" }, `There is no conversation ${id}.`));
      } else if (view) {
        toast(problem.message, "bad");
      } else {
        replace(head, h("div", { class: "form-error", role: "alert" }, problem.message));
      }
    }
  }

  /** Redraws from the conversation the API answered (actions answer it too). */
  function draw(answer) {
    view = answer;
    drawHead();
    drawOptOut();
    drawGuidance();
    drawTimeline();
    drawReplyState();
  }

  function drawHead() {
    const v = view;
    const me = session.agent;
    const mineNow = v.state === "assigned" && v.assignee === me;
    const claim = h("button", {
      type: "button", class: "primary", dataset: { testid: "claim" },
      disabled: v.state === "assigned",
      title: mineNow ? "It is yours already" : v.state === "assigned" ? `Assigned to ${v.assignee}: use Assign… to take it over` : null,
      onclick: () => act("claim", { agent: me }),
    }, "Claim");
    const assign = h("button", { type: "button", dataset: { testid: "assign" }, onclick: assignDialog }, "Assign…");
    const close = h("button", {
      type: "button", class: "danger", dataset: { testid: "close" }, disabled: v.state === "closed",
      onclick: async () => {
        if (await confirmAction("Close this conversation?",
          `The conversation with ${v.contact} is closed; a new message from the contact reopens it.`, "Close")) {
          act("close", { agent: me });
        }
      },
    }, "Close");
    replace(head,
      h("div", { class: "row" },
        h("h2", { class: "contact" }, v.contact), badge(v.state),
        h("span", { class: "spacer" }),
        h("div", { class: "actions" }, claim, assign, close)),
      h("dl", { class: "fields conversation-meta" },
        h("dt", {}, "Our number"), h("dd", {}, v.our_number),
        h("dt", {}, "Assignee"), h("dd", { dataset: { testid: "assignee" } }, v.assignee || "nobody"),
        h("dt", {}, "Queue"), h("dd", {}, v.queue || "—"),
        v.campaign ? [h("dt", {}, "Campaign"), h("dd", {},
          h("a", { href: `#/campaigns/${v.campaign.campaign}` }, `Campaign ${v.campaign.campaign}`),
          h("span", { class: "muted small" }, ` (${v.campaign.workflow_id}, recipient ${v.campaign.recipient})`))] : null,
        v.timezone ? [h("dt", {}, "Timezone"), h("dd", {}, v.timezone)] : null,
        v.escalation ? [h("dt", {}, "Escalation"), h("dd", {},
          `to ${v.escalation.to} ${format.ago(v.escalation.at)} unless an agent replies`)] : null));
  }

  function drawOptOut() {
    const consent = view.opted_out;
    optOut.classList.toggle("hidden", !consent);
    if (!consent) {
      replace(optOut);
      return;
    }
    replace(optOut, `Opted out ${format.dateTime(consent.at)} via ${consent.how}`,
      consent.detail ? ` (${consent.detail})` : "",
      ": messages to this contact are refused");
  }

  function drawGuidance() {
    const v = view;
    const suggestions = v.guidance || [];
    const fields = Object.entries(v.fields || {});
    const ask = v.pending_ask;
    replace(guidance,
      h("h3", {}, "Guidance"),
      v.flags.length ? h("div", { class: "row flags" }, v.flags.map((flag) => badge(flag, "flag"))) : null,
      suggestions.length === 0
        ? h("p", { class: "muted small" }, "No suggestions for the latest message.")
        : suggestions.map((s) => h("div", { class: "suggestion", dataset: { testid: "suggestion", rank: s.rank } },
          h("div", { class: "text" }, s.text),
          s.answer ? h("blockquote", { class: "answer" }, s.answer) : null,
          h("div", { class: "row" },
            h("span", { class: "why" }, `#${s.rank} · ${s.workflow}`),
            h("span", { class: "spacer" }),
            h("button", {
              type: "button", class: "link", disabled: Boolean(v.opted_out),
              title: s.answer ? "Put this answer in the reply box" : "Put this text in the reply box",
              onclick: () => use(s.answer || s.text),
            }, "Use")))),
      ask ? h("div", { class: "banner info small pending-ask" },
        `Waiting for the contact's answer to save as “${ask.save_as}” (${ask.workflow})`,
        ask.expires_at ? `, until ${format.dateTime(ask.expires_at)}` : "", ".") : null,
      h("h3", {}, "Saved fields"),
      fields.length
        ? h("dl", { class: "fields" }, fields.map(([name, value]) => [
          h("dt", {}, name), h("dd", {}, typeof value === "string" ? value : JSON.stringify(value))]))
        : h("p", { class: "muted small" }, "None yet."),
      h("h3", {}, "Tags"),
      v.tags.length ? h("div", { class: "row" }, v.tags.map((tag) => badge(tag, "tag"))) : h("p", { class: "muted small" }, "None."));
  }

  function use(value) {
    text.value = value;
    drafts.set(id, value);
    count();
    clearErrors(reply);
    text.focus();
  }

  function drawTimeline() {
    const nearBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 40;
    const first = !timeline.hasChildNodes();
    const entries = view.timeline || [];
    if (entries.length === 0) replace(timeline, h("div", { class: "empty" }, "Nothing yet."));
    else replace(timeline, entries.map(bubble));
    if (first || nearBottom) timeline.scrollTop = timeline.scrollHeight;
  }

  function drawReplyState() {
    const v = view;
    const optedOut = Boolean(v && v.opted_out);
    text.disabled = optedOut;
    send.disabled = optedOut || sending;
    text.placeholder = optedOut ? "The contact opted out: nothing can be sent." : "Write a reply…";
    const held = v && !optedOut && v.reply_held_until && new Date(v.reply_held_until).getTime() > Date.now()
      ? v.reply_held_until : null;
    quiet.classList.toggle("hidden", !held);
    replace(quiet, held ? `It is quiet hours for this contact: the reply will be held until ${format.dateTime(held)}` : "");
    if (held) quiet.dataset.until = held;
    const me = session.agent;
    let note = "";
    if (v && !optedOut && !(v.state === "assigned" && v.assignee === me)) {
      note = v.state === "assigned"
        ? `Assigned to ${v.assignee}, not to you: your reply goes out under your name and it stays theirs.`
        : "Not assigned to you: replying claims it.";
    }
    notMine.classList.toggle("hidden", !note);
    replace(notMine, note);
  }

  async function act(action, json) {
    try {
      const answer = await api("POST", `/conversations/${id}/${action}`, { json });
      if (!closed) draw(answer);
    } catch (problem) {
      toast(problem.message, "bad");
      if (!closed) load();
    }
  }

  async function assignDialog() {
    const agent = h("input", { name: "agent", placeholder: "Agent name", autocomplete: "off" });
    const answer = await dialog({
      title: "Assign the conversation",
      confirm: "Assign",
      body: [field("Agent", agent)],
      onSubmit: async () => {
        const name = agent.value.trim();
        if (!name) throw new FormError("agent", "Name the agent it goes to.");
        try {
          return await api("POST", `/conversations/${id}/assign`, { json: { agent: name, by: session.agent } });
        } catch (problem) {
          throw new FormError("agent", problem.message);
        }
      },
    });
    if (answer && !closed) {
      draw(answer);
      toast(`Assigned to ${answer.assignee}.`);
    }
  }

  count();
  load();
  return {
    element,
    load,
    close() {
      closed = true;
      if (text.value) drafts.set(id, text.value);
    },
  };
}

/** One timeline entry as a bubble. */
function bubble(entry) {
  const when = h("time", { datetime: entry.at, title: format.dateTime(entry.at) }, format.dateTime(entry.at));
  const meta = (...parts) => h("span", { class: "meta" }, when, parts.filter(Boolean).map((part) => [" · ", part]));
  const attrs = (kind) => ({ class: `bubble ${kind}`, dataset: { seq: entry.seq, kind: entry.kind } });
  switch (entry.kind) {
    case "inbound":
      return h("div", attrs("inbound"), entry.text,
        meta("contact", entry.keyword ? badge(`keyword ${entry.keyword}`, "flag") : null));
    case "campaign":
      return h("div", attrs("outbound"), entry.text,
        meta(h("a", { href: `#/campaigns/${entry.campaign}` }, `campaign ${entry.campaign}`),
          `step ${entry.step_id}`, entry.status ? badge(entry.status) : null));
    case "outbound": {
      const due = new Date(entry.due_at).getTime();
      // Queued behind quiet hours or the sender's pace; "now" (within a few seconds of
      // clock skew) needs no time.
      const held = entry.status === "queued" && due > Date.now() + 5000;
      return h("div", attrs("outbound"), entry.text,
        entry.media && entry.media.length ? h("span", { class: "meta" }, `media: ${entry.media.join(", ")}`) : null,
        meta(author(entry.author), badge(entry.status),
          held ? h("span", { class: "held" }, `goes out at ${format.dateTime(entry.due_at)}`) : null,
          entry.error ? h("span", { class: "error-text" }, entry.error) : null));
    }
    case "note":
      return h("div", attrs("note"), entry.text, meta(`note by ${entry.agent}`));
    case "event":
      return h("div", attrs("event"), entry.text, " · ", when);
    default:
      return h("div", attrs("event"), `(${entry.kind})`, " · ", when);
  }
}

/** Who wrote an outbound message (`Author`, tagged by `by`). */
function author(who) {
  if (!who) return null;
  switch (who.by) {
    case "agent": return who.agent;
    case "flow": return `automatic (${who.workflow})`;
    case "question": return `question (${who.workflow})`;
    case "compliance": return "compliance";
    default: return who.by || null;
  }
}
