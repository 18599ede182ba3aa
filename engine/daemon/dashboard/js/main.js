// The dashboard's entry: the session gate, the header, and the hash router that mounts one
// view at a time (each view returns a cleanup that unsubscribes its live updates and timers).

import { onUnauthorized, session } from "./api.js";
import { live } from "./live.js";
import { location, navigate } from "./nav.js";
import { h, replace, toast } from "./ui.js";
import * as login from "./views/login.js";
import * as campaigns from "./views/campaigns.js";
import * as campaign from "./views/campaign.js";
import * as workflows from "./views/workflows.js";
import * as inbox from "./views/inbox.js";
import * as realtime from "./views/realtime.js";

const ROUTES = [
  { pattern: /^campaigns\/(\d+)$/, view: campaign, section: "campaigns" },
  { pattern: /^campaigns$/, view: campaigns, section: "campaigns" },
  { pattern: /^workflows(?:\/(.+))?$/, view: workflows, section: "workflows" },
  { pattern: /^inbox(?:\/(\d+))?$/, view: inbox, section: "inbox" },
  { pattern: /^realtime$/, view: realtime, section: "realtime" },
];

const SECTIONS = [
  ["campaigns", "Campaigns"],
  ["inbox", "Inbox"],
  ["realtime", "Realtime"],
  ["workflows", "Workflows"],
];

let cleanup = null;

function header(section) {
  const status = h("span", { class: "live-status", "data-state": live.state }, "");
  const labels = { live: "Live", connecting: "Connecting…", down: "Reconnecting…", idle: "Offline" };
  const unwatch = live.onStatus((state) => {
    status.dataset.state = state;
    status.textContent = labels[state] || state;
    status.title = state === "live" ? "Live updates are on" : "Live updates are reconnecting";
  });
  const element = h("header", { class: "top" },
    h("a", { class: "brand", href: "#/campaigns" }, "Switchboard"),
    h("nav", { "aria-label": "Sections" }, SECTIONS.map(([id, label]) =>
      h("a", { href: `#/${id}`, class: id === section ? "active" : null, "aria-current": id === section ? "page" : null }, label))),
    h("span", { class: "spacer" }),
    status,
    h("span", { class: "who" }, session.agent),
    h("button", { type: "button", onclick: logout }, "Log out"),
  );
  return { element, unwatch };
}

function logout() {
  session.end();
  live.stop();
  navigate("login");
}

function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const app = document.getElementById("app");
  const { path, query } = location();
  if (!session.loggedIn || path === "login") {
    live.stop();
    replace(app);
    const done = login.render(app, () => navigate("campaigns"));
    cleanup = typeof done === "function" ? done : null;
    return;
  }
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (!match) {
    navigate("campaigns");
    return;
  }
  live.start();
  const top = header(match.r.section);
  const main = h("main", {});
  replace(app, top.element, main);
  const done = match.r.view.render(main, match.m.slice(1), query);
  cleanup = () => {
    top.unwatch();
    if (typeof done === "function") done();
  };
}

onUnauthorized(() => {
  toast("Your token was refused: log in again.", "bad");
  logout();
});

window.addEventListener("hashchange", route);
route();
