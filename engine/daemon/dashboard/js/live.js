// The live event stream (`/v1/events`, Server-Sent Events) shared by every view. It is read
// with fetch rather than EventSource so the token goes in a header, not the URL. A dropped
// or silent connection (the daemon restarted, the network went away) is retried with
// backoff; after a reconnect every subscriber gets a `resync` event, since events may have
// been missed, and refetches what it shows.

import { authHeaders } from "./api.js";

/** The server sends a keep-alive every 15 s: this long without a byte means the link is dead. */
const SILENCE_LIMIT_MS = 40000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5000;

class LiveStream {
  constructor() {
    this.subscribers = new Set();
    this.statusListeners = new Set();
    this.state = "idle";
    this.controller = null;
    this.retry = FIRST_RETRY_MS;
    this.everConnected = false;
    this.stopped = true;
  }

  /** Calls `handler(kind, data)` for events of the given kinds ("*" for all, plus `resync`). */
  subscribe(kinds, handler) {
    const entry = { kinds: new Set([kinds].flat()), handler };
    this.subscribers.add(entry);
    return () => this.subscribers.delete(entry);
  }

  /** Calls `listener(state)` on every change: connecting, live, down. */
  onStatus(listener) {
    this.statusListeners.add(listener);
    listener(this.state);
    return () => this.statusListeners.delete(listener);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
    this.setState("idle");
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.statusListeners.forEach((listener) => listener(state));
  }

  dispatch(kind, data) {
    for (const { kinds, handler } of this.subscribers) {
      if (kinds.has(kind) || kinds.has("*")) {
        try {
          handler(kind, data);
        } catch (problem) {
          console.error("live event handler", problem);
        }
      }
    }
  }

  async connect() {
    if (this.stopped) return;
    this.setState("connecting");
    const controller = new AbortController();
    this.controller = controller;
    let silence = null;
    const watchdog = () => {
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(), SILENCE_LIMIT_MS);
    };
    try {
      watchdog();
      const response = await fetch("/v1/events", {
        headers: { ...authHeaders(), Accept: "text/event-stream" },
        signal: controller.signal,
        cache: "no-store",
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.setState("live");
      this.retry = FIRST_RETRY_MS;
      if (this.everConnected) this.dispatch("resync", null);
      this.everConnected = true;
      await this.read(response.body.getReader(), watchdog);
    } catch {
      // dropped, refused or aborted: retried below
    } finally {
      clearTimeout(silence);
    }
    if (this.stopped) return;
    this.setState("down");
    setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, MAX_RETRY_MS);
  }

  /** Reads SSE frames until the stream ends. */
  async read(reader, watchdog) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      watchdog();
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = frameEnd(buffer)) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^(\r?\n){2}/, "");
        this.frame(frame);
      }
    }
  }

  frame(text) {
    let kind = "message";
    const data = [];
    for (const line of text.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "event") kind = value;
      else if (name === "data") data.push(value);
    }
    if (data.length === 0) return;
    let payload = data.join("\n");
    try {
      payload = JSON.parse(payload);
    } catch {
      // not JSON: hand the text over
    }
    this.dispatch(kind, payload);
  }
}

function frameEnd(buffer) {
  const match = /\r?\n\r?\n/.exec(buffer);
  return match ? match.index : -1;
}

/** The one stream of the page. */
export const live = new LiveStream();
