// The `/v1` API as the dashboard uses it: the session (token and name, in this tab's
// sessionStorage, never in a URL) and `api()`, which sends the token and turns error answers
// into ApiError with the server's code and message.

const TOKEN = "switchboard.token";
const AGENT = "switchboard.agent";

/** Who is logged in, for this tab only. */
export const session = {
  get token() { return sessionStorage.getItem(TOKEN) || ""; },
  get agent() { return sessionStorage.getItem(AGENT) || ""; },
  get loggedIn() { return sessionStorage.getItem(AGENT) !== null; },
  start(token, agent) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(AGENT, agent);
  },
  end() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(AGENT);
  },
};

/** An error answer of the API (or the network failing: status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const listeners = new Set();

/** Called with every 401 (the token was revoked or is wrong): the app logs out. */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

/** The headers that authenticate a request. */
export function authHeaders(token = session.token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** `path` with its query (entries with empty values left out). */
export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Calls the API. `json` is sent as a JSON body, `body` as is (a File for uploads).
 * Answers the parsed JSON (null for 204), or the Response when `raw`.
 */
export async function api(method, path, { json, body, query, token, raw = false, headers = {} } = {}) {
  const init = { method, headers: { ...authHeaders(token), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(withQuery(`/v1${path}`, query), init);
  } catch (problem) {
    throw new ApiError(0, "network", `The daemon cannot be reached (${problem.message}).`);
  }
  if (!response.ok) {
    let code = "http";
    let message = `${response.status} ${response.statusText}`;
    try {
      const answer = await response.json();
      if (answer && answer.error) ({ code, message } = answer.error);
    } catch {
      // not JSON: keep the status line
    }
    if (response.status === 401 && token === undefined) listeners.forEach((l) => l());
    throw new ApiError(response.status, code, message);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}
