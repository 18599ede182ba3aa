// End-to-end tests of the web dashboard in headless Chromium against the real daemon with
// the mock provider (issue #8's "done when"). One daemon and one browser for the whole file;
// the steps run in order, as an operator and an agent would use the dashboard: log in, create
// a campaign, upload a list with bad rows, preview, start, watch the counters, pause and
// resume, answer a reply in the inbox with the guidance, see an opted-out contact refused,
// read an invalid workflow's errors, and survive a daemon restart with the live view.
// Screenshots of the main pages (laptop and tablet widths) go to target/dashboard-screenshots.
//
// Run through `cargo test` (tests/dashboard_browser.rs), or by hand:
//   SWITCHBOARD_BIN=target/debug/switchboard node --test tests/browser/

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  Daemon, GOOD_ROWS, REPO, SENDER, Site, TOKEN, eventually, launchBrowser, recipientsCsv, reminderWorkflow, screenshot,
} from "./harness.mjs";

const AGENT = "Dana Agent";
const LAPTOP = { width: 1366, height: 850 };
const TABLET = { width: 820, height: 1180 };


let site;
let daemon;
let browser;
let page;
let campaignId;

before(async () => {
  site = new Site("browser");
  site.workflow("browser-reminders.yaml", reminderWorkflow("browser-reminders", "Appointment reminders (browser tests)"));
  for (const file of ["agent-guidance.yaml", "help-and-opt-out.yaml"]) site.example(file);
  daemon = await Daemon.start(site);
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: LAPTOP, acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (error) => { throw error; });
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.stop();
  if (process.exitCode && daemon) process.stderr.write(`daemon log:\n${daemon.log}\n`);
  if (site) site.remove();
});

/** The value of a campaign counter (`sent`, `pending`, ...) as shown. */
async function counter(name) {
  const text = await page.locator(`[data-counter="${name}"] .value`).textContent();
  return Number(text.replace(/[^\d]/g, ""));
}

async function state() {
  return (await page.getByTestId("campaign-state").textContent()).trim();
}

test("login refuses a wrong token inline and keeps the token out of the URL", async () => {
  await page.goto(daemon.url);
  await page.getByLabel("API token").fill("wrong-token");
  await page.getByLabel("Your name").fill(AGENT);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("This token is not valid.").waitFor();
  assert.equal(await page.getByLabel("API token").getAttribute("aria-invalid"), "true");
  await screenshot(page, "login-error");

  await page.getByLabel("API token").fill(TOKEN);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Campaigns" }).waitFor();
  assert.ok(!page.url().includes(TOKEN), "the token is not in the URL");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("switchboard.token")), TOKEN);
  await page.getByText("No campaigns yet").waitFor();
});

test("a campaign is created from a workflow, with inline errors for a bad form", async () => {
  await page.getByRole("button", { name: "New campaign" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Create draft" }).click();
  await dialog.getByText("Give the campaign a name.").waitFor();
  await dialog.getByLabel("Name").fill("November reminders");
  await dialog.getByRole("button", { name: "Create draft" }).click();
  await dialog.getByText("Choose the workflow it runs.").waitFor();
  await dialog.getByLabel("Workflow").selectOption("browser-reminders");
  await dialog.getByRole("button", { name: "Create draft" }).click();
  await page.getByTestId("campaign-name").getByText("November reminders").waitFor();
  assert.equal(await state(), "draft");
  campaignId = Number(/campaigns\/(\d+)/.exec(page.url())[1]);
  // Only what a draft allows.
  for (const action of ["start", "schedule", "duplicate", "delete"]) {
    assert.equal(await page.locator(`[data-action="${action}"]`).count(), 1, action);
  }
  for (const action of ["pause", "resume", "stop", "archive"]) {
    assert.equal(await page.locator(`[data-action="${action}"]`).count(), 0, action);
  }
});

test("a list dropped on the page is imported, with the bad rows summarised and logged", async () => {
  await page.getByRole("tab", { name: "Lists" }).click();
  // A real drop: a DataTransfer holding the file, dispatched on the drop zone.
  const transfer = await page.evaluateHandle((csv) => {
    const data = new DataTransfer();
    data.items.add(new File([csv], "november.csv", { type: "text/csv" }));
    return data;
  }, recipientsCsv(["not-a-number", "+1416", ""]));
  await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: transfer });
  const summary = page.getByTestId("import-summary");
  await summary.waitFor();
  assert.equal((await summary.locator('[data-field="imported"]').textContent()).trim(), String(GOOD_ROWS));
  assert.equal((await summary.locator('[data-field="rejected"]').textContent()).trim(), "3");
  await screenshot(page, "campaign-list-upload");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    summary.getByTestId("error-log").click(),
  ]);
  const log = fs.readFileSync(await download.path(), "utf8");
  assert.match(log, /not-a-number/);
  assert.equal(log.trim().split("\n").length, 4, `a header and three rows:\n${log}`);

  // A bad option is refused inline before anything is sent.
  await page.getByLabel("Region of numbers without a country code").fill("Canada");
  await page.getByTestId("list-file").setInputFiles({ name: "x.csv", mimeType: "text/csv", buffer: Buffer.from("phone\n") });
  await page.getByText("Two letters, like US or GB.").waitFor();
  await page.getByLabel("Region of numbers without a country code").fill("US");
});

test("the schedule preview shows each recipient's send time before start", async () => {
  await page.getByRole("tab", { name: "Schedule preview" }).click();
  await page.getByLabel("Recipients to simulate").fill("0");
  await page.getByTestId("preview-run").click();
  await page.getByText("A whole number from 1 to 200.").waitFor();
  await page.getByLabel("Recipients to simulate").fill("5");
  await page.getByTestId("preview-run").click();
  const table = page.getByTestId("preview");
  await table.waitFor();
  assert.equal(await table.locator("tbody tr").count(), 5);
  await table.getByText("Hi Guest 0, your appointment is tomorrow").waitFor();
  await screenshot(page, "campaign-preview");
});

test("starting asks first, then the counters move live; pause and resume follow the state", async () => {
  await page.getByRole("tab", { name: "Overview" }).click();
  await page.locator('[data-action="start"]').click();
  await page.getByRole("dialog").getByRole("button", { name: "Start now" }).click();
  await eventually("the campaign sends", async () => (await state()) === "sending");
  const first = await eventually("a first send", async () => (await counter("sent")) || false);
  await eventually("more sends, without reloading", async () => (await counter("sent")) > first);

  await page.locator('[data-action="pause"]').click();
  await eventually("paused", async () => (await state()) === "paused");
  assert.equal(await page.locator('[data-action="resume"]').count(), 1);
  assert.equal(await page.locator('[data-action="pause"]').count(), 0);
  // Nothing more goes out while paused (the one in flight may still land).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const paused = await counter("sent");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.ok((await counter("sent")) <= paused + 1, "paused campaigns do not send");

  await page.locator('[data-action="resume"]').click();
  await eventually("sending again", async () => (await state()) === "sending");
  await eventually("sends resume", async () => (await counter("sent")) > paused + 1);
  await page.getByTestId("steps").waitFor();
  await screenshot(page, "campaign-details");
});

test("the realtime view shows the sending campaign's rate per sender", async () => {
  await page.goto(`${daemon.url}/#/realtime`);
  const row = page.getByTestId("realtime-row").first();
  await row.waitFor();
  await row.getByText(SENDER).waitFor();
  await page.getByTestId("queue-depth").waitFor();
  await screenshot(page, "realtime");
});

test("the campaign list filters, sorts and shows progress", async () => {
  await page.goto(`${daemon.url}/#/campaigns`);
  const row = page.locator(`tr[data-id="${campaignId}"]`);
  await row.waitFor();
  await row.getByText(AGENT).waitFor();
  await page.getByLabel("Status").selectOption("draft");
  await page.getByText("No campaign matches these filters.").waitFor();
  await page.getByLabel("Status").selectOption("");
  await row.waitFor();
  await page.locator("th button.sort", { hasText: "Name" }).click();
  await eventually("sorted by name", async () => page.url().includes("sort=name"));
  await screenshot(page, "campaigns");
  await page.setViewportSize(TABLET);
  await screenshot(page, "campaigns-tablet");
  await page.setViewportSize(LAPTOP);
});

test("a reply opens a conversation with guidance, and the agent answers it", async () => {
  const contact = "+14165552003";
  await daemon.inbound("browser-in-1", contact, SENDER, "Hi, how much does the premium plan cost?");
  await page.goto(`${daemon.url}/#/inbox`);
  // The list shows the contact's conversation (it arrives live or with the first load).
  const item = page.getByTestId("conversation").filter({ hasText: contact });
  await item.waitFor();
  const id = await item.getAttribute("data-id");
  await item.click();
  const guidance = page.getByTestId("guidance");
  await guidance.getByText("asks about pricing").waitFor();
  assert.ok((await page.getByTestId("suggestion").count()) >= 2, "ranked suggestions");
  await page.getByTestId("timeline").getByText("how much does the premium plan cost").waitFor();

  await page.getByTestId("claim").click();
  await eventually("claimed", async () => (await page.getByTestId("claim").count()) === 0
    || await page.getByTestId("claim").isDisabled());

  // An empty reply is refused inline; the counter counts segments as the agent types.
  await page.getByTestId("reply-send").click();
  await page.getByTestId("reply-error").waitFor();
  const text = "Hi! Premium is $20 per user a month; happy to set up a call.";
  await page.getByTestId("reply-text").fill(text);
  await eventually("one segment", async () => /1 segment/.test(await page.getByTestId("segment-counter").textContent()));
  await page.getByTestId("reply-text").fill(`${text} ${"More details follow. ".repeat(8)}`);
  await eventually("two segments", async () => /2 segments/.test(await page.getByTestId("segment-counter").textContent()));
  await page.getByTestId("reply-text").fill(text);
  await page.getByTestId("reply-send").click();
  await page.getByTestId("timeline").getByText("Premium is $20 per user").waitFor();
  const conversation = await daemon.api("GET", `/conversations/${id}`);
  assert.equal(conversation.assignee, AGENT);
  assert.ok(conversation.timeline.some((e) => e.kind === "outbound" && JSON.stringify(e).includes("Premium is $20")));
  await screenshot(page, "inbox-conversation");
  await page.setViewportSize(TABLET);
  await screenshot(page, "inbox-conversation-tablet");
  await page.setViewportSize(LAPTOP);
});

test("an opted-out contact is marked, live, and cannot be messaged", async () => {
  const contact = "+14165552004";
  await daemon.inbound("browser-in-2", contact, SENDER, "Is this about Tuesday?");
  const conversation = await eventually("the second conversation", async () => {
    const page = await daemon.api("GET", `/conversations?contact=${encodeURIComponent(contact)}`);
    return page.conversations[0];
  });
  await page.goto(`${daemon.url}/#/inbox/${conversation.id}`);
  await page.getByTestId("timeline").getByText("Is this about Tuesday?").waitFor();
  assert.equal(await page.getByTestId("reply-text").isDisabled(), false);

  await daemon.inbound("browser-in-3", contact, SENDER, "STOP");
  // The live update marks the contact and closes the reply box, without a reload.
  await page.getByTestId("opted-out").waitFor();
  await eventually("the reply box is closed", async () => page.getByTestId("reply-text").isDisabled());
  assert.equal(await page.getByTestId("reply-send").isDisabled(), true);
  await page.locator(`[data-testid="conversation"][data-id="${conversation.id}"]`).getByText(/opted out/i).waitFor();
  // And the daemon refuses it too, whatever the page shows.
  await assert.rejects(daemon.api("POST", `/conversations/${conversation.id}/reply`, { agent: AGENT, text: "Hello?" }), /40[39]|422/);
  await screenshot(page, "inbox-opted-out");
});

test("an invalid workflow shows its errors with line numbers and its source", async () => {
  site.workflow("broken.yaml", "kind: campaign\nid: broken\nname: Broken\nsteps:\n  - send:\n      id: x\n      txt: missing text\n");
  await page.goto(`${daemon.url}/#/workflows`);
  const entry = page.locator('[data-testid="workflow"][data-id="broken"]');
  await entry.waitFor();
  await entry.getByText("invalid").waitFor();
  await entry.click();
  const diagnostics = page.getByTestId("diagnostics");
  await diagnostics.waitFor();
  assert.match(await diagnostics.textContent(), /line \d+, column \d+/);
  await page.getByTestId("workflow-source").getByText("txt: missing text").waitFor();
  assert.ok((await page.locator("pre.source .line.error").count()) >= 1, "the error lines are marked");
  await screenshot(page, "workflows-invalid");
});

test("the live view reconnects after the daemon restarts", async () => {
  await page.goto(`${daemon.url}/#/inbox`);
  const status = page.locator(".live-status");
  await eventually("live", async () => (await status.getAttribute("data-state")) === "live");
  const address = daemon.address;
  await daemon.stop();
  await eventually("the page notices", async () => (await status.getAttribute("data-state")) !== "live");
  daemon = await Daemon.start(site, address);
  await eventually("live again", async () => (await status.getAttribute("data-state")) === "live", 60000);
  // And events flow again: a new conversation appears without a reload.
  const before = await page.getByTestId("conversation").count();
  await daemon.inbound("browser-in-4", "+14165552010", SENDER, "Hello after the restart");
  await eventually("the new conversation arrives live", async () => (await page.getByTestId("conversation").count()) > before);
});

test("the page's segment counter agrees with the engine's", async () => {
  const cases = JSON.parse(fs.readFileSync(path.join(REPO, "tests/browser/fixtures/segments.json"), "utf8"));
  const results = await page.evaluate(async (texts) => {
    const { segmentInfo } = await import("/ui/js/segments.js");
    return texts.map((text) => segmentInfo(text));
  }, cases.map((c) => c.text));
  cases.forEach((expected, i) => {
    assert.equal(results[i].segments, expected.segments, JSON.stringify(expected.text));
    assert.equal(results[i].encoding, expected.encoding, JSON.stringify(expected.text));
    assert.equal(results[i].units, expected.units, JSON.stringify(expected.text));
  });
});
