// Small charts for the dashboard, drawn as inline SVG (no library): a line over time, and stacked bars per
// day. Each is drawn at the pixel width of the box it goes in (`width`), so its text keeps its size on a
// phone and on a wide screen; every point and bar has a <title> a pointer can read.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const CLINIC_TIME_ZONE = "America/Santo_Domingo"; // the overview's days are the clinic's
const CHAR_PX = 6.5; // about one character of the 11 px tick labels

function dimensions(width, yLabels) {
  const left = 10 + CHAR_PX * Math.max(...yLabels.map((t) => t.length), 1);
  return { width: Math.max(280, Math.round(width || 640)), height: 220, left, right: 14, top: 14, bottom: 30 };
}

function svgNode(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Round tick values: 1, 2 or 5 times a power of ten, about `count` of them from 0 to at least `top`.
function ticks(top, count = 4) {
  if (!(top > 0)) return [0, 1];
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let v = 0; v < top + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function frame(svg, box, yTicks, format, xLabels) {
  const { width, height, left, right, top, bottom } = box;
  const yMax = yTicks[yTicks.length - 1] || 1;
  const y = (v) => top + (height - top - bottom) * (1 - v / yMax);
  for (const t of yTicks) {
    svg.append(
      svgNode("line", { x1: left, x2: width - right, y1: y(t), y2: y(t), class: "grid" }),
      svgNode("text", { x: left - 6, y: y(t) + 4, class: "tick", "text-anchor": "end" }, format(t)),
    );
  }
  for (const { x, text, anchor } of xLabels) {
    svg.append(svgNode("text", { x, y: height - bottom + 18, class: "tick", "text-anchor": anchor || "middle" }, text));
  }
  return y;
}

function emptyChart(message) {
  const box = document.createElement("p");
  box.className = "chart-empty";
  box.textContent = message;
  return box;
}

// points: [{ at: Date, value: number, note: string }], oldest first, drawn one after another at even steps
// (turns come in bursts, one call's together: on a time axis they would stack). Some are labelled with their
// time. reference: { value, label } (a dashed line).
function lineChart({ points, format, reference, label, empty, width }) {
  if (!points.length) return emptyChart(empty);
  const top = Math.max(...points.map((p) => p.value), reference ? reference.value : 0);
  const yTicks = ticks(top * 1.05);
  const box = dimensions(width, yTicks.map(format));
  const { height, left, right, bottom } = box;
  const svg = svgNode("svg", { viewBox: `0 0 ${box.width} ${height}`, width: box.width, height, class: "chart", role: "img", "aria-label": label });
  const inner = box.width - left - right - 8;
  const x = (i) => (points.length === 1 ? left + inner / 2 : left + 4 + (inner * i) / (points.length - 1));
  const stamp = (at) => at.toLocaleString("es-DO", { timeZone: CLINIC_TIME_ZONE, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const room = Math.max(1, Math.floor(inner / 150)); // a label needs about 150 px
  const labelled = points.length === 1 ? [0] : [...new Set(Array.from({ length: Math.min(room, points.length) }, (_, k) =>
    Math.round((k * (points.length - 1)) / Math.max(1, Math.min(room, points.length) - 1))))];
  const xLabels = labelled.map((i) => ({ x: x(i), text: stamp(points[i].at) }));
  const ends = xLabels.length > 1 ? [xLabels[0], xLabels[xLabels.length - 1]] : [];
  if (ends.length) { ends[0].anchor = "start"; ends[1].anchor = "end"; }
  const y = frame(svg, box, yTicks, format, xLabels);
  const fullWidth = box.width;
  if (reference && reference.value !== null) {
    svg.append(
      svgNode("line", { x1: left, x2: fullWidth - right, y1: y(reference.value), y2: y(reference.value), class: "reference" }),
      svgNode("text", { x: fullWidth - right - 4, y: y(reference.value) - 5, class: "reference-label", "text-anchor": "end" }, reference.label),
    );
  }
  svg.append(svgNode("polyline", { points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(" "), class: "line" }));
  points.forEach((p, i) => {
    const dot = svgNode("circle", { cx: x(i), cy: y(p.value), r: points.length > 80 ? 2.5 : 3.5, class: "dot" });
    dot.append(svgNode("title", {}, p.note));
    svg.append(dot);
  });
  svg.append(svgNode("line", { x1: left, x2: fullWidth - right, y1: height - bottom, y2: height - bottom, class: "axis" }));
  return svg;
}

// days: [{ day: "2026-11-26", values: { key: number } }]; series: [{ key, label, colour }].
function barChart({ days, series, format, label, empty, width, whole = false }) {
  const totals = days.map((d) => series.reduce((sum, s) => sum + (d.values[s.key] || 0), 0));
  if (!totals.some((t) => t > 0)) return emptyChart(empty);
  const top = Math.max(...totals);
  const yTicks = whole ? ticks(Math.max(top, 2)).filter(Number.isInteger) : ticks(top);
  const box = dimensions(width, yTicks.map(format));
  const { height, left, right, bottom } = box;
  const wrap = document.createElement("figure");
  wrap.className = "chart-box";
  const svg = svgNode("svg", { viewBox: `0 0 ${box.width} ${height}`, width: box.width, height, class: "chart", role: "img", "aria-label": label });
  const slot = (box.width - left - right) / days.length;
  const every = Math.max(1, Math.ceil(44 / slot)); // a day label needs about 44 px
  const xLabels = days.map((d, i) => ({ x: left + slot * (i + 0.5), text: shortDay(d.day) }))
    .filter((_, i) => (days.length - 1 - i) % every === 0);
  const y = frame(svg, box, yTicks, format, xLabels);
  const fullWidth = box.width;
  days.forEach((d, i) => {
    let base = 0;
    for (const s of series) {
      const value = d.values[s.key] || 0;
      if (!value) continue;
      const rect = svgNode("rect", {
        x: left + slot * i + slot * 0.15, width: slot * 0.7, y: y(base + value), height: y(base) - y(base + value),
        fill: s.colour, class: "bar",
      });
      rect.append(svgNode("title", {}, `${shortDay(d.day)} · ${s.label}: ${format(value)}`));
      svg.append(rect);
      base += value;
    }
  });
  svg.append(svgNode("line", { x1: left, x2: fullWidth - right, y1: height - bottom, y2: height - bottom, class: "axis" }));
  wrap.append(svg);
  if (series.length > 1) {
    const legend = document.createElement("figcaption");
    legend.className = "legend";
    for (const s of series) {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = s.colour;
      item.append(swatch, s.label);
      legend.append(item);
    }
    wrap.append(legend);
  }
  return wrap;
}

function shortDay(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return new Date(year, month - 1, day).toLocaleDateString("es-DO", { day: "numeric", month: "short" });
}
