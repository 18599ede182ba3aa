// The dashboard in headless Firefox ESR (Debian's), driven by puppeteer-core over WebDriver
// BiDi, against the real daemon with the mock provider. A shorter path than the Chromium test
// (dashboard.test.mjs), through the same pages: log in, create a campaign from a workflow,
// upload a list with a bad row through the file input, start it and watch the counters move,
// answer a pricing question in the inbox with the guidance, and see the live view connected.
// Screenshots go to target/dashboard-screenshots as firefox-*.png.
//
// Run through `cargo test` (tests/dashboard_browser.rs), or by hand:
//   SWITCHBOARD_BIN=target/debug/switchboard node --test tests/browser/firefox.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import {
  Daemon, GOOD_ROWS, SENDER, Site, TOKEN, eventually, launchFirefox, recipientsCsv, reminderWorkflow, screenshot,
} from "./harness.mjs";

const AGENT = "Fox Agent";
const LAPTOP = { width: 1366, height: 850 };


let site;
let daemon;
let browser;
let page;
const pageErrors = [];

before(async () => {
  site = new Site("firefox");
  site.workflow("firefox-reminders.yaml", reminderWorkflow("firefox-reminders", "Appointment reminders (Firefox test)"));
  for (const file of ["agent-guidance.yaml", "help-and-opt-out.yaml"]) site.example(file);
  daemon = await Daemon.start(site);
  browser = await launchFirefox(LAPTOP);
  page = await browser.newPage();
  page.setDefaultTimeout(30000);
  page.on("pageerror", (error) => pageErrors.push(error));
});

afterEach(() => {
  // An uncaught error in the page fails the step it happened in.
  assert.deepEqual(pageErrors.splice(0).map(String), [], "errors in the page");
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.stop();
  if (process.exitCode && daemon) process.stderr.write(`daemon log:\n${daemon.log}\n`);
  if (site) site.remove();
});

/** The trimmed text of the first element matching `selector` (throws when there is none). */
function text(selector) {
  return page.$eval(selector, (element) => element.textContent.trim());
}

/** Waits until an element matching `selector` contains `wanted` (a string or a RegExp). */
function see(selector, wanted, ms) {
  const matches = (value) => (wanted instanceof RegExp ? wanted.test(value) : value.includes(wanted));
  return eventually(`${selector} shows ${wanted}`, async () => {
    const texts = await page.$$eval(selector, (elements) => elements.map((e) => e.textContent));
    return texts.some(matches);
  }, ms);
}

/** The button whose text is `label`, inside `scope`, once it is there. */
function button(label, scope = "body") {
  return eventually(`the “${label}” button`, async () => {
    const handle = await page.evaluateHandle((s, l) => [...document.querySelectorAll(`${s} button`)]
      .find((b) => b.textContent.trim() === l) || null, scope, label);
    return handle.asElement() || false;
  });
}

/** The value of a campaign counter (`sent`, `pending`, ...) as shown. */
async function counter(name) {
  return Number((await text(`[data-counter="${name}"] .value`)).replace(/[^\d]/g, ""));
}

const state = () => text('[data-testid="campaign-state"]');

// One suite, so the runner's report tells these from the Chromium tests.
describe("in Firefox ESR", () => {
  test("login refuses a wrong token inline, then logs in", async () => {
    await page.goto(daemon.url);
    await page.locator('input[name="token"]').fill("wrong-token");
    await page.locator('input[name="agent"]').fill(AGENT);
    await page.locator("form.login button[type=submit]").click();
    await see("form.login .field .error", "This token is not valid.");
    assert.equal(await page.$eval('input[name="token"]', (e) => e.getAttribute("aria-invalid")), "true");

    await page.locator('input[name="token"]').fill(TOKEN);
    await page.locator("form.login button[type=submit]").click();
    await see("main", "No campaigns yet");
    assert.ok(!page.url().includes(TOKEN), "the token is not in the URL");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("switchboard.token")), TOKEN);
  });

  test("a campaign is created from the workflow in the New campaign dialog", async () => {
    await (await button("New campaign")).click();
    const dialog = 'dialog[aria-label="New campaign"]';
    await page.waitForSelector(`${dialog}[open]`);
    await page.locator(`${dialog} button[type=submit]`).click();
    await see(`${dialog} .field .error`, "Give the campaign a name.");
    await page.locator(`${dialog} input[name="name"]`).fill("Firefox reminders");
    await page.select(`${dialog} select[name="workflow"]`, "firefox-reminders");
    await page.locator(`${dialog} button[type=submit]`).click();
    await see('[data-testid="campaign-name"]', "Firefox reminders");
    assert.equal(await state(), "draft");
    assert.match(page.url(), /#\/campaigns\/\d+/);
    assert.equal(await page.$(dialog), null, "the dialog is gone");
  });

  test("a list chosen in the file input is imported, with the bad row summarised", async () => {
    await page.locator('[role="tab"][data-tab="lists"]').click();
    const file = path.join(site.dir, "firefox-list.csv");
    fs.writeFileSync(file, recipientsCsv(["not-a-number"]));
    const input = await page.waitForSelector('[data-testid="list-file"]');
    await input.uploadFile(file);
    await page.waitForSelector('[data-testid="import-summary"]');
    assert.equal(await text('[data-testid="import-summary"] [data-field="imported"]'), String(GOOD_ROWS));
    assert.equal(await text('[data-testid="import-summary"] [data-field="rejected"]'), "1");
    await see('[data-testid="import-summary"] h3', "firefox-list.csv");
  });

  test("starting asks first, then the sent counter moves without a reload", async () => {
    await page.locator('[role="tab"][data-tab="overview"]').click();
    await page.locator('[data-action="start"]').click();
    const confirm = 'dialog[aria-label="Start sending?"]';
    await page.waitForSelector(`${confirm}[open]`);
    await (await button("Start now", confirm)).click();
    await eventually("the campaign sends", async () => (await state()) === "sending");
    const first = await eventually("a first send", async () => (await counter("sent")) || false);
    await eventually("more sends, without reloading", async () => (await counter("sent")) > first);
    await screenshot(page, "firefox-campaign");
  });

  test("a pricing question opens a conversation with guidance, and the agent answers it", async () => {
    const contact = "+14165552003";
    await daemon.inbound("firefox-in-1", contact, SENDER, "Hi, how much does it cost?");
    const conversation = await eventually("the conversation", async () => {
      const list = await daemon.api("GET", `/conversations?contact=${encodeURIComponent(contact)}`);
      return list.conversations[0];
    });
    await page.locator('header nav a[href="#/inbox"]').click();
    const item = `[data-testid="conversation"][data-id="${conversation.id}"]`;
    await page.waitForSelector(item);
    await page.locator(item).click();
    await see('[data-testid="guidance"]', "pricing");
    await see('[data-testid="timeline"]', "how much does it cost?");

    const reply = "Hi! Premium is $20 per user a month; happy to set up a call.";
    await page.locator('[data-testid="reply-text"]').click();
    await page.keyboard.type(reply);
    assert.equal(await page.$eval('[data-testid="reply-text"]', (e) => e.value), reply);
    // Counted as typed: this text's length, in one GSM-7 segment.
    await see('[data-testid="segment-counter"]', `${reply.length} characters · 1 segment · GSM-7`);
    await page.locator('[data-testid="reply-send"]').click();
    await see('[data-testid="timeline"]', "Premium is $20 per user");
    await eventually("the reply box is emptied", async () =>
      (await page.$eval('[data-testid="reply-text"]', (e) => e.value)) === "");
    const view = await daemon.api("GET", `/conversations/${conversation.id}`);
    assert.ok(view.timeline.some((e) => e.kind === "outbound" && JSON.stringify(e).includes("Premium is $20")));
    await screenshot(page, "firefox-inbox");
  });

  test("the live view is connected", async () => {
    await page.waitForSelector('.live-status[data-state="live"]');
    assert.equal(await text(".live-status"), "Live");
  });
});
