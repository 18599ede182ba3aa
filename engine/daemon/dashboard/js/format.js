// Formatting of numbers, times and durations for display. Pure functions.

const numberFormat = new Intl.NumberFormat();

/** A count with thousands separators; "—" for nothing. */
export function count(value) {
  return value === null || value === undefined ? "—" : numberFormat.format(value);
}

/** A fraction 0..1 as a percentage. */
export function percent(fraction, digits = 1) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "—";
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** `part` of `whole` as a percentage, "—" when whole is 0. */
export function share(part, whole) {
  return whole ? percent(part / whole) : "—";
}

/** An RFC 3339 instant in the browser's timezone, "—" for none. */
export function dateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

/** An RFC 3339 instant as a time of day (with seconds). */
export function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
}

/** How long ago an instant was, in words ("12 s ago", "3 min ago"). */
export function ago(iso, now = Date.now()) {
  if (!iso) return "—";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(seconds)) return String(iso);
  if (seconds < 0) return `in ${duration(-seconds)}`;
  if (seconds < 5) return "just now";
  return `${duration(seconds)} ago`;
}

/** A duration in seconds, in the largest sensible unit. */
export function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** Money with up to 4 decimals (segment prices are small). */
export function money(value) {
  if (value === null || value === undefined) return "—";
  return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}
