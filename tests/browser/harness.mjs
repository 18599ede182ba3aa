// The browser tests' fixtures: a site (temporary directory with a config, the example
// workflows and the test's own), the real `switchboard run` started on loopback with the mock
// provider (and restarted on the same address, for the reconnect test), signed mock webhooks,
// API calls, headless Debian Chromium through playwright-core and headless Debian Firefox ESR
// through puppeteer-core (WebDriver BiDi).

import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "../..");

/** The binary under test: the one cargo built for this test run. */
export const BINARY = process.env.SWITCHBOARD_BIN || path.join(REPO, "target/debug/switchboard");
/** Where screenshots go (CI keeps them as artifacts). */
export const SCREENSHOTS = process.env.SCREENSHOT_DIR || path.join(REPO, "target/dashboard-screenshots");

export const TOKEN = "browser-tests-7c41";
export const HOOK_TOKEN = "whsec-browser-19";

/** A directory of its own, a config and the workflows the tests run. */
export class Site {
  constructor(name) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `switchboard-${name}-`));
    fs.mkdirSync(path.join(this.dir, "workflows"));
    fs.writeFileSync(path.join(this.dir, "switchboard.toml"), [
      'data-dir = "data"',
      'workflow-dir = "workflows"',
      // Automatic and agent replies wait for the contact's allowed hours; the tests run at
      // any hour, so there are none here (the campaign lifts them with a reason).
      'quiet-hours = { start = "00:00", end = "00:00" }',
      "[api]",
      'tokens = ["${SWITCHBOARD_TEST_TOKEN}"]',
      "[providers.mock]",
      'plugin = "mock"',
      `settings = { webhook-token = "${HOOK_TOKEN}" }`,
      "",
    ].join("\n"));
  }

  /** Copies an example of the repository's `workflows/`. */
  example(file) {
    fs.copyFileSync(path.join(REPO, "workflows", file), path.join(this.dir, "workflows", file));
  }

  /** Writes a workflow file (atomically: the watcher never sees half a file). */
  workflow(file, text) {
    const part = path.join(this.dir, "workflows", `.${file}.part`);
    fs.writeFileSync(part, text);
    fs.renameSync(part, path.join(this.dir, "workflows", file));
  }

  remove() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A running daemon. */
export class Daemon {
  static async start(site, listen = "127.0.0.1:0") {
    const child = spawn(BINARY, ["run", "--config", "switchboard.toml", "--listen", listen], {
      cwd: site.dir,
      env: { ...process.env, SWITCHBOARD_TEST_TOKEN: TOKEN },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const daemon = new Daemon(child);
    const address = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the daemon did not listen:\n${daemon.log}`)), 120000);
      child.stderr.setEncoding("utf8");
      let pending = "";
      child.stderr.on("data", (chunk) => {
        daemon.log += chunk;
        if (process.env.SWITCHBOARD_TEST_LOG) process.stderr.write(chunk);
        pending += chunk;
        const match = /listening on http:\/\/(\S+)/.exec(pending);
        if (match) {
          clearTimeout(timer);
          pending = "";
          resolve(match[1]);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the daemon exited (${code}):\n${daemon.log}`));
      });
    });
    daemon.address = address;
    daemon.url = `http://${address}`;
    return daemon;
  }

  constructor(child) {
    this.child = child;
    this.log = "";
  }

  /** SIGTERM and wait: a graceful stop, as an operator's restart does. */
  async stop() {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    await exited;
  }

  /** An API call with the token; answers the parsed JSON, throws on an error status. */
  async api(method, route, body) {
    const response = await fetch(`${this.url}/v1${route}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A contact's message through the mock provider's signed webhook. */
  async inbound(id, from, to, text) {
    const response = await fetch(`${this.url}/webhooks/mock`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "x-mock-token": HOOK_TOKEN },
      body: JSON.stringify({ type: "inbound", "provider-message-id": id, from, to, body: text }),
    });
    if (response.status !== 200) throw new Error(`webhook: ${response.status} ${await response.text()}`);
  }
}

/** Headless Chromium from Debian, with the flags this closed network needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/**
 * Headless Firefox ESR from Debian, driven by puppeteer-core over WebDriver BiDi, in a fresh
 * temporary profile (puppeteer makes one, with its own testing preferences: no first-run
 * pages, no safe browsing, no updates). The preferences below also keep it off this closed
 * network: no telemetry, studies, captive-portal or connectivity checks, DNS over HTTPS,
 * remote settings or prefetching, so an unreachable host never slows a test.
 */
export async function launchFirefox(viewport) {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
    protocol: "webDriverBiDi",
    headless: true,
    defaultViewport: viewport || null,
    protocolTimeout: 120000,
    extraPrefsFirefox: {
      "app.normandy.enabled": false,
      "app.shield.optoutstudies.enabled": false,
      "app.update.auto": false,
      "app.update.enabled": false,
      "browser.aboutwelcome.enabled": false,
      "browser.discovery.enabled": false,
      "browser.newtabpage.activity-stream.feeds.telemetry": false,
      "browser.newtabpage.activity-stream.telemetry": false,
      "browser.ping-centre.telemetry": false,
      "browser.region.network.url": "",
      "browser.region.update.enabled": false,
      "browser.safebrowsing.provider.google4.updateURL": "",
      "browser.safebrowsing.provider.mozilla.updateURL": "",
      "browser.shell.checkDefaultBrowser": false,
      "browser.topsites.contile.enabled": false,
      "captivedetect.canonicalURL": "",
      "datareporting.healthreport.uploadEnabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "extensions.systemAddon.update.enabled": false,
      "messaging-system.rsexperimentloader.enabled": false,
      "network.captive-portal-service.enabled": false,
      "network.connectivity-service.enabled": false,
      "network.dns.disablePrefetch": true,
      "network.predictor.enabled": false,
      "network.prefetch-next": false,
      "network.trr.mode": 5,
      "toolkit.telemetry.archive.enabled": false,
      "toolkit.telemetry.enabled": false,
      "toolkit.telemetry.server": "",
      "toolkit.telemetry.unified": false,
    },
  });
}

/** Saves a full-page screenshot as `<name>.png` under SCREENSHOTS (a playwright or a puppeteer page). */
export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Polls `check` until it returns a truthy value (which is returned), or fails after `ms`. */
export async function eventually(what, check, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (problem) {
      last = problem;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${what} (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The number the test campaigns send from. */
export const SENDER = "+14165550100";

/** Good rows in [`recipientsCsv`]. */
export const GOOD_ROWS = 24;

/**
 * A recipient list: GOOD_ROWS valid Toronto numbers (+14165552000…, "Guest <i>"), then one
 * row per entry of `badPhones` with that phone.
 */
export function recipientsCsv(badPhones) {
  const rows = ["phone,name,timezone"];
  for (let i = 0; i < GOOD_ROWS; i += 1) rows.push(`+1416555${String(2000 + i)},Guest ${i},America/Toronto`);
  badPhones.forEach((phone, i) => rows.push(`${phone},Bad ${i},America/Toronto`));
  return `${rows.join("\n")}\n`;
}

/** A one-reminder campaign workflow from SENDER at 2 messages/s, at any hour. */
export function reminderWorkflow(id, name) {
  return `kind: campaign
id: ${id}
name: ${name}
provider: mock
sender: "${SENDER}"
consent:
  acknowledged: true
  source: browser test fixtures
  by: tests@example.com
rate:
  per_second: 2
quiet_hours:
  override: true
  reason: browser tests run at any hour
fields:
  name: { required: true }
steps:
  - send:
      id: reminder
      text: "Hi {name}, your appointment is tomorrow at 10:00. Reply C to confirm."
`;
}
