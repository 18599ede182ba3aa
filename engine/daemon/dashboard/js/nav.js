// Where the page is: the hash route (`#/campaigns/4?tab=recipients`) read and written.

/** The route path and its query. */
export function location() {
  const raw = window.location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  return { path, query: new URLSearchParams(search) };
}

/** Goes to a route: `navigate("campaigns/4")`, with an optional query object. */
export function navigate(path, query = null) {
  const text = query ? new URLSearchParams(query).toString() : "";
  window.location.hash = `#/${path}${text ? `?${text}` : ""}`;
}

/** Changes the query of the current route without a new history entry or a re-render. */
export function setQuery(query) {
  const { path } = location();
  const text = new URLSearchParams(query).toString();
  history.replaceState(null, "", `#/${path}${text ? `?${text}` : ""}`);
}
