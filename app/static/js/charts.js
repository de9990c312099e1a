/* Small SVG charts drawn in the page: a line chart and a horizontal bar chart.
 *
 * Hand-written (a few dozen lines each) rather than a library: no build step, no CDN, and the
 * Content-Security-Policy allows no inline style, so every element is made with
 * createElementNS and coloured by classes from app.css (light and dark). Each data point is
 * focusable and has a <title>; hovering or focusing it shows its value in the chart's readout
 * line, so the values are reachable by mouse, keyboard and screen reader alike.
 */

const SVG = "http://www.w3.org/2000/svg";
// The drawing's width in SVG units: near the width it is shown at, so that its text stays
// readable (a 640-unit drawing squeezed onto a phone would shrink 12px labels to 6px).
const chartWidth = () => (window.matchMedia("(max-width: 760px)").matches ? 340 : 640);

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Round `max` up to a "nice" axis end (1, 2, 2.5 or 5 times a power of ten). */
function niceCeil(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

function niceRange(values) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.1 || 1;
  const span = niceCeil(hi - lo + 2 * pad) / 4;
  const min = Math.floor((lo - pad) / span) * span;
  return { min: Math.max(lo >= 0 ? 0 : -Infinity, min), max: Math.ceil((hi + pad) / span) * span };
}

function wrapFigure(svg, caption, readout) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  figure.append(cap, svg, readout);
  return figure;
}

function readoutLine(hint) {
  const line = document.createElement("p");
  line.className = "chart-readout small";
  line.setAttribute("aria-live", "polite");
  line.textContent = hint;
  return line;
}

function bindPoint(point, label, readout, hint) {
  point.setAttribute("tabindex", "0");
  point.setAttribute("role", "img");
  point.setAttribute("aria-label", label);
  point.append(svgEl("title", {}, label));
  const show = () => {
    readout.textContent = label;
    point.classList.add("active");
  };
  const hide = () => {
    readout.textContent = hint;
    point.classList.remove("active");
  };
  point.addEventListener("mouseenter", show);
  point.addEventListener("focus", show);
  point.addEventListener("mouseleave", hide);
  point.addEventListener("blur", hide);
}

/**
 * A line chart of `points` [{x: label, y: number|null}], with labelled axes.
 * `format(y)` writes a value; `xTitle` and `yTitle` name the axes.
 */
export function lineChart(points, { caption, xTitle, yTitle, format = String }) {
  const width = chartWidth();
  const height = width < 640 ? 240 : 280;
  const pad = { left: 66, right: 14, top: 14, bottom: 52 };
  const known = points.filter((p) => typeof p.y === "number");
  const hint = "Hover or focus a point to read its value.";
  const readout = readoutLine(hint);
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "group",
    "aria-label": `${caption}: ${yTitle} by ${xTitle}`,
  });
  if (known.length === 0) return wrapFigure(svg, caption, readout);
  const { min, max } = niceRange(known.map((p) => p.y));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (points.length === 1 ? plotW / 2 : (i * plotW) / (points.length - 1));
  const y = (v) => pad.top + plotH - ((v - min) / (max - min || 1)) * plotH;

  const grid = svgEl("g", { class: "chart-grid", "aria-hidden": "true" });
  for (let i = 0; i <= 4; i += 1) {
    const value = min + ((max - min) * i) / 4;
    grid.append(svgEl("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value) }));
    grid.append(svgEl("text", { x: pad.left - 8, y: y(value) + 4, "text-anchor": "end", class: "chart-tick" }, format(value)));
  }
  // At most six month labels, counted back from the last so that the newest is always named.
  const every = Math.max(1, Math.ceil((points.length - 1) / (width < 640 ? 3 : 5)));
  points.forEach((p, i) => {
    if ((points.length - 1 - i) % every === 0) {
      // The newest label ends at the plot's edge instead of running past the chart.
      const anchor = i === points.length - 1 && points.length > 1 ? "end" : "middle";
      grid.append(svgEl("text", { x: x(i), y: height - pad.bottom + 18, "text-anchor": anchor, class: "chart-tick" }, p.x));
    }
  });
  grid.append(svgEl("text", { x: pad.left + plotW / 2, y: height - 8, "text-anchor": "middle", class: "chart-axis-title" }, xTitle));
  grid.append(svgEl("text", {
    x: 14, y: pad.top + plotH / 2, "text-anchor": "middle", class: "chart-axis-title",
    transform: `rotate(-90 14 ${pad.top + plotH / 2})`,
  }, yTitle));
  svg.append(grid);

  let path = "";
  points.forEach((p, i) => {
    if (typeof p.y !== "number") return;
    path += `${path && typeof points[i - 1]?.y === "number" ? "L" : "M"}${x(i).toFixed(1)},${y(p.y).toFixed(1)}`;
  });
  svg.append(svgEl("path", { d: path, class: "chart-line", "aria-hidden": "true" }));
  const dots = svgEl("g", { class: "chart-points" });
  points.forEach((p, i) => {
    if (typeof p.y !== "number") return;
    const dot = svgEl("circle", { cx: x(i), cy: y(p.y), r: 5, class: "chart-point" });
    bindPoint(dot, `${p.x}: ${format(p.y)}`, readout, hint);
    dots.append(dot);
  });
  svg.append(dots);
  return wrapFigure(svg, caption, readout);
}

/** Horizontal bars of `rows` [{label, value}] from zero; `format(value)` writes a value. */
export function barChart(rows, { caption, valueTitle, format = String }) {
  const rowH = 30;
  const width = chartWidth();
  const pad = { left: width < 640 ? 80 : 120, right: width < 640 ? 56 : 90, top: 8, bottom: 40 };
  const height = pad.top + pad.bottom + rowH * rows.length;
  const hint = "Hover or focus a bar to read its value.";
  const readout = readoutLine(hint);
  const values = rows.map((r) => (typeof r.value === "number" ? r.value : 0));
  const lo = Math.min(0, ...values);
  const hi = niceCeil(Math.max(0, ...values)) || 1;
  const plotW = width - pad.left - pad.right;
  const x = (v) => pad.left + ((v - lo) / (hi - lo || 1)) * plotW;
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "group",
    "aria-label": `${caption}: ${valueTitle}`,
  });
  const axis = svgEl("g", { class: "chart-grid", "aria-hidden": "true" });
  axis.append(svgEl("line", { x1: x(0), x2: x(0), y1: pad.top, y2: height - pad.bottom }));
  axis.append(svgEl("text", { x: pad.left + plotW / 2, y: height - 10, "text-anchor": "middle", class: "chart-axis-title" }, valueTitle));
  svg.append(axis);
  rows.forEach((row, i) => {
    const top = pad.top + i * rowH;
    const value = typeof row.value === "number" ? row.value : null;
    svg.append(svgEl("text", { x: pad.left - 8, y: top + rowH / 2 + 4, "text-anchor": "end", class: "chart-tick" }, row.label));
    if (value === null) return;
    const start = Math.min(x(0), x(value));
    const bar = svgEl("rect", {
      x: start, y: top + 5, width: Math.max(Math.abs(x(value) - x(0)), 1), height: rowH - 10,
      rx: 3, class: `chart-bar${value < 0 ? " negative" : ""}`,
    });
    bindPoint(bar, `${row.label}: ${format(value)}`, readout, hint);
    svg.append(bar);
    svg.append(svgEl("text", { x: Math.max(x(value), x(0)) + 6, y: top + rowH / 2 + 4, class: "chart-value" }, format(value)));
  });
  return wrapFigure(svg, caption, readout);
}
