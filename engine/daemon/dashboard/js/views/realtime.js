// What is sending right now: `GET /v1/realtime` polled every 2 s (and on `campaign` and
// `resync` events) — the engine's queue depth, the total send rate, a row per campaign and
// sender with its rate, last minute, pending recipients, errors and a sparkline of its rate
// over the last two minutes (kept here, from the polls: the daemon keeps no history), and
// the recent error codes of each campaign. A daemon without the endpoint (404) gets a
// message instead of a broken page.

import { api } from "../api.js";
import { live } from "../live.js";
import * as format from "../format.js";
import { badge, h, replace, throttle } from "../ui.js";

const POLL_MS = 2000;
/** How much rate history a sparkline shows. */
const HISTORY_MS = 120000;
const SPARK = { width: 120, height: 28, pad: 2 };

export function render(main) {
  /** Rate samples per "campaign|sender": [{ t (ms), rate }], oldest first. */
  const history = new Map();
  let disposed = false;
  let unsupported = false;
  let seq = 0;

  const queueDepth = h("div", { class: "value", dataset: { testid: "queue-depth" } }, "—");
  const totalRate = h("div", { class: "value", dataset: { testid: "total-rate" } }, "—");
  const lastMinute = h("div", { class: "value" }, "—");
  const sendingCount = h("div", { class: "value" }, "—");
  const updated = h("span", { class: "muted small" });
  const problem = h("div", { class: "form-error hidden", role: "alert" });
  const table = h("div", { class: "table-wrap" }, h("div", { class: "loading" }, "Loading…"));
  const errors = h("section", { class: "stack realtime-errors" });
  const counters = h("div", { class: "counters" },
    h("div", { class: "counter" }, queueDepth, h("div", { class: "label" }, "Engine queue depth")),
    h("div", { class: "counter" }, totalRate, h("div", { class: "label" }, "Sending now (messages/s)")),
    h("div", { class: "counter" }, lastMinute, h("div", { class: "label" }, "Sent in the last minute")),
    h("div", { class: "counter" }, sendingCount, h("div", { class: "label" }, "Live campaigns")));
  main.append(h("div", { class: "row" }, h("h1", {}, "Realtime"), h("span", { class: "spacer" }), updated),
    problem, counters, h("h2", {}, "Campaigns and senders"), table, errors);

  async function load() {
    if (unsupported) return;
    const mine = ++seq;
    try {
      const answer = await api("GET", "/realtime");
      if (disposed || mine !== seq) return;
      problem.classList.add("hidden");
      draw(answer);
    } catch (error) {
      if (disposed || mine !== seq) return;
      if (error.status === 404) {
        unsupported = true;
        clearInterval(timer);
        replace(main, h("h1", {}, "Realtime"),
          h("div", { class: "panel empty", dataset: { testid: "realtime-unsupported" } },
            "The daemon does not report realtime figures."));
        return;
      }
      // Keep the last figures on screen; say why they are not moving.
      problem.textContent = `The figures are not updating: ${error.message}`;
      problem.classList.remove("hidden");
    }
  }

  function draw(view) {
    const now = Date.parse(view.at) || Date.now();
    const campaigns = view.campaigns || [];
    let rate = 0;
    let minute = 0;
    for (const c of campaigns) {
      for (const s of c.senders || []) {
        rate += s.last_10s_per_second || 0;
        minute += s.last_minute || 0;
        remember(`${c.id}|${s.sender}`, now, s.last_10s_per_second || 0);
      }
    }
    forget(now);
    queueDepth.textContent = format.count(view.queue_depth);
    queueDepth.dataset.value = String(view.queue_depth);
    totalRate.textContent = perSecond(rate);
    totalRate.dataset.value = String(rate);
    lastMinute.textContent = format.count(minute);
    sendingCount.textContent = format.count(campaigns.length);
    updated.textContent = `Updated ${format.time(view.at)}`;

    if (campaigns.length === 0) {
      replace(table, h("div", { class: "empty", dataset: { testid: "realtime-empty" } }, "Nothing is sending right now."));
    } else {
      replace(table, h("table", { "aria-label": "Send rates per campaign and sender" },
        h("thead", {}, h("tr", {},
          h("th", {}, "Campaign"), h("th", {}, "Status"), h("th", {}, "Sender"),
          h("th", { class: "num" }, "Rate/s"), h("th", { class: "num" }, "Last minute"),
          h("th", { class: "num" }, "Pending"), h("th", { class: "num" }, "Errors (1 min)"),
          h("th", {}, "Last 2 minutes"))),
        h("tbody", {}, campaigns.flatMap((c) => rows(c, now)))));
    }

    const failing = campaigns.filter((c) => (c.recent_errors || []).length > 0);
    replace(errors, failing.length === 0 ? null : [
      h("h2", {}, "Recent errors"),
      failing.map((c) => h("div", { class: "panel", dataset: { testid: "realtime-errors", campaign: c.id } },
        h("h3", {}, h("a", { href: `#/campaigns/${c.id}` }, c.name)),
        h("table", { "aria-label": `Recent errors of ${c.name}` },
          h("thead", {}, h("tr", {}, h("th", {}, "Code"), h("th", {}, "Message"),
            h("th", { class: "num" }, "Count"), h("th", {}, "Last seen"))),
          h("tbody", {}, c.recent_errors.map((e) => h("tr", { dataset: { code: e.code } },
            h("td", {}, h("code", {}, e.code)),
            h("td", {}, e.message),
            h("td", { class: "num" }, format.count(e.count)),
            h("td", { class: "nowrap" },
              h("time", { datetime: e.last_at, title: format.dateTime(e.last_at) }, format.ago(e.last_at, now))))))))),
    ]);
  }

  /** The rows of one campaign: one per sender (one without a sender when none sent yet). */
  function rows(c, now) {
    const senders = c.senders && c.senders.length ? c.senders : [null];
    const span = senders.length;
    return senders.map((s, i) => {
      const rate = s ? s.last_10s_per_second || 0 : 0;
      const cells = [];
      if (i === 0) {
        cells.push(
          h("td", { rowspan: span }, h("a", { href: `#/campaigns/${c.id}` }, c.name),
            h("div", { class: "muted small" }, c.provider)),
          h("td", { rowspan: span }, badge(c.state)));
      }
      cells.push(
        h("td", { class: "mono small" }, s ? s.sender : "—"),
        h("td", { class: "num" }, perSecond(rate)),
        h("td", { class: "num" }, format.count(s ? s.last_minute : 0)));
      if (i === 0) {
        cells.push(
          h("td", { class: "num", rowspan: span }, format.count(c.pending)),
          h("td", { class: `num${c.errors_last_minute ? " bad-text" : ""}`, rowspan: span }, format.count(c.errors_last_minute)));
      }
      cells.push(h("td", {}, s ? sparkline(history.get(`${c.id}|${s.sender}`) || [], now, s.sender) : null));
      return h("tr", {
        dataset: {
          testid: "realtime-row", campaign: c.id, sender: s ? s.sender : "", state: c.state,
          rate: String(rate), lastMinute: String(s ? s.last_minute : 0),
          pending: String(c.pending), errors: String(c.errors_last_minute),
        },
      }, cells);
    });
  }

  function remember(key, t, rate) {
    const samples = history.get(key) || [];
    if (samples.length && samples[samples.length - 1].t === t) samples[samples.length - 1].rate = rate;
    else samples.push({ t, rate });
    history.set(key, samples);
  }

  /** Drops samples older than the sparkline shows, and senders with none left. */
  function forget(now) {
    for (const [key, samples] of history) {
      while (samples.length && samples[0].t < now - HISTORY_MS) samples.shift();
      if (samples.length === 0) history.delete(key);
    }
  }

  const refresh = throttle(load, 1000);
  const unsubscribe = live.subscribe(["campaign", "resync"], refresh);
  const timer = setInterval(load, POLL_MS);
  load();
  return () => {
    disposed = true;
    unsubscribe();
    clearInterval(timer);
  };
}

function perSecond(rate) {
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(1);
}

/** The rate of the last two minutes as a small line (time on x, 0..max on y). */
function sparkline(samples, now, sender) {
  const { width, height, pad } = SPARK;
  const max = Math.max(1, ...samples.map((s) => s.rate));
  const x = (t) => pad + ((t - (now - HISTORY_MS)) / HISTORY_MS) * (width - 2 * pad);
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  const svg = h("svg:svg", {
    class: "sparkline", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Rate of ${sender} over the last two minutes, up to ${perSecond(max)}/s`,
  }, h("svg:line", { class: "base", x1: pad, x2: width - pad, y1: height - pad, y2: height - pad }));
  if (samples.length === 1) {
    svg.append(h("svg:circle", { cx: x(samples[0].t).toFixed(1), cy: y(samples[0].rate).toFixed(1), r: 1.5 }));
  } else if (samples.length > 1) {
    const points = samples.map((s) => `${x(s.t).toFixed(1)},${y(s.rate).toFixed(1)}`).join(" ");
    svg.append(h("svg:polyline", { points }));
  }
  return svg;
}
