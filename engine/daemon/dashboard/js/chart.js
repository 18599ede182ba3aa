// A small SVG line chart: sends, deliveries and failures per time bucket.

import { h } from "./ui.js";

const WIDTH = 800;
const HEIGHT = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

/** The chart of `points` ([{at, sent, delivered, failed}]) for `series` names. */
export function lineChart(points, series = ["sent", "delivered", "failed"]) {
  const svg = h("svg:svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
    "aria-label": `Messages over time: ${series.join(", ")}`,
  });
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p[s] || 0)));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length <= 1 ? innerW / 2 : (i * innerW) / (points.length - 1));
  const y = (v) => PAD.top + innerH - (v * innerH) / max;
  for (const fraction of [0, 0.5, 1]) {
    const value = Math.round(max * fraction);
    svg.append(
      h("svg:line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      h("svg:text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, String(value)),
    );
  }
  svg.append(h("svg:line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }));
  if (points.length > 0) {
    const labels = points.length === 1 ? [0] : [0, Math.floor((points.length - 1) / 2), points.length - 1];
    for (const i of new Set(labels)) {
      const label = new Date(points[i].at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      svg.append(h("svg:text", { x: x(i), y: HEIGHT - 8, "text-anchor": "middle" }, label));
    }
  }
  for (const name of series) {
    const d = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p[name] || 0).toFixed(1)}`).join(" ");
    if (d) svg.append(h("svg:path", { class: `series ${name}`, d, "vector-effect": "non-scaling-stroke" }));
    // With few points a line says little (one point draws none): mark each one.
    if (points.length <= 40) {
      points.forEach((p, i) => svg.append(h("svg:circle", { class: `dot ${name}`, cx: x(i), cy: y(p[name] || 0), r: 3 },
        h("svg:title", {}, `${name}: ${p[name] || 0} at ${new Date(p.at).toLocaleTimeString()}`))));
    }
  }
  return h("div", { class: "chart" }, svg,
    h("div", { class: "legend" }, series.map((name) => h("span", { class: name }, name))));
}
