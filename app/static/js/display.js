/* Rich results: a tool's `display` (CONTRACT.md 6.2, shapes in notes/display.md) as blocks.
 *
 * `renderDisplay(display, act)` returns one element with `data-display="<kind>"`, or null for a
 * kind it does not know. Listing cards carry `data-listing-id` and actions (Details, Mortgage,
 * Email) that call `act(text)`, which sends that request as the user's next message. Charts are
 * SVG from charts.js. Every value comes from the server as data and is put in as text.
 */
import { el } from "./dom.js";
import { barChart, lineChart } from "./charts.js";

const money = (v) => (typeof v === "number" ? `$${Math.round(v).toLocaleString("en-US")}` : "—");
const cents = (v) => (typeof v === "number"
  ? `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}` : "—");
const num = (v) => (typeof v === "number" ? v.toLocaleString("en-US") : "—");
const pct = (v) => (typeof v === "number" ? `${v > 0 ? "+" : ""}${v.toFixed(1)}%` : "—");
const shortMoney = (v) => {
  if (typeof v !== "number") return "—";
  if (Math.abs(v) >= 1e6) return `$${(v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 2)}M`;
  if (Math.abs(v) >= 1e3) return `$${Math.round(v / 1e3)}k`;
  return `$${Math.round(v)}`;
};
const TYPES = { multi_family: "Multi-family" };
const label = (v) => (v ? TYPES[v] || String(v).charAt(0).toUpperCase() + String(v).slice(1) : "");

function block(kind, title, ...children) {
  return el("section", { class: `display display-${kind}`, "data-display": kind, "aria-label": title },
    el("h3", { class: "display-title", text: title }), ...children);
}

function facts(pairs) {
  const list = el("dl", { class: "display-facts" });
  for (const [name, value] of pairs) {
    list.append(el("div", {}, el("dt", { text: name }), el("dd", { text: value })));
  }
  return list;
}

function actionButton(text, request, act, item) {
  const button = el("button", { type: "button", class: "secondary small", "data-action": text.toLowerCase(),
    "aria-label": `${text}: ${item.id}` }, text);
  button.addEventListener("click", () => act(request));
  return button;
}

function listingCard(item, act) {
  const specs = [
    item.beds != null ? `${item.beds} bd` : null,
    item.baths != null ? `${item.baths} ba` : null,
    item.sqft != null ? `${num(item.sqft)} sqft` : null,
  ].filter(Boolean).join(" · ");
  return el("li", { class: "listing-card", "data-listing-id": item.id },
    el("div", { class: "listing-head" },
      el("span", { class: "listing-price", text: money(item.price) }),
      el("span", { class: `listing-status status-${item.status || "unknown"}`, text: label(item.status) })),
    el("p", { class: "listing-address", text: item.address || "" }),
    el("p", { class: "listing-specs", text: [specs, label(item.type)].filter(Boolean).join(" · ") }),
    el("p", { class: "listing-id small muted", text: item.id }),
    el("div", { class: "listing-actions" },
      actionButton("Details", `Tell me about listing ${item.id}`, act, item),
      actionButton("Mortgage", `Estimate the monthly mortgage for listing ${item.id}` +
        (typeof item.price === "number" ? ` at $${item.price.toLocaleString("en-US")}` : ""), act, item),
      actionButton("Email", `Email a report of listing ${item.id}`, act, item)));
}

function listings(display, act) {
  const items = display.items || [];
  const shown = items.length < (display.total || 0) ? ` (showing ${items.length})` : "";
  return block("listings", `${num(display.total ?? items.length)} listings${shown}`,
    el("ul", { class: "listing-cards" }, ...items.map((item) => listingCard(item, act))));
}

function listing(display, act) {
  return block("listing", display.address || display.id,
    el("div", { class: "listing-detail", "data-listing-id": display.id },
      el("div", { class: "listing-head" },
        el("span", { class: "listing-price", text: money(display.price) }),
        el("span", { class: `listing-status status-${display.status || "unknown"}`, text: label(display.status) })),
      facts([
        ["Listing", display.id],
        ["Type", label(display.type)],
        ["Bedrooms", num(display.beds)],
        ["Bathrooms", num(display.baths)],
        ["Size", display.sqft != null ? `${num(display.sqft)} sqft` : "—"],
        ["Built", display.year_built != null ? String(display.year_built) : "—"],
        ["On market", display.days_on_market != null ? `${display.days_on_market} days` : "—"],
        ["Listed", display.listed_at || "—"],
      ]),
      display.description ? el("p", { class: "listing-description", text: display.description }) : null,
      el("div", { class: "listing-actions" },
        actionButton("Mortgage", `Estimate the monthly mortgage for listing ${display.id}` +
          (typeof display.price === "number" ? ` at $${display.price.toLocaleString("en-US")}` : ""), act, display),
        actionButton("Email", `Email a report of listing ${display.id}`, act, display))));
}

function trend(display) {
  const place = [display.city, display.state].filter(Boolean).join(", ");
  const series = display.series || [];
  const change = typeof display.change_pct === "number" ? ` · ${pct(display.change_pct)}` : "";
  return block("trend", `Median price in ${place}${change}`,
    lineChart(series.map((p) => ({ x: p.month, y: p.median_price })), {
      caption: `Median sale price, ${place}`, xTitle: "Month", yTitle: "Median price", format: shortMoney,
    }));
}

function markets(display) {
  const rows = display.rows || [];
  const name = (r) => r.city || "";
  const highlights = [
    display.cheapest ? `Cheapest: ${display.cheapest}` : null,
    display.fastest_growing ? `Fastest growing: ${display.fastest_growing}` : null,
    display.most_competitive ? `Most competitive: ${display.most_competitive}` : null,
  ].filter(Boolean);
  const title = rows.length === 1 ? `Market in ${[rows[0].city, rows[0].state].filter(Boolean).join(", ")}` : "Markets compared";
  return block("markets", title,
    highlights.length ? el("p", { class: "display-highlights", text: highlights.join(" · ") }) : null,
    barChart(rows.map((r) => ({ label: name(r), value: r.median_price })), {
      caption: "Median price", valueTitle: "US dollars", format: shortMoney,
    }),
    barChart(rows.map((r) => ({ label: name(r), value: r.price_change_12m_pct })), {
      caption: "Price change over 12 months", valueTitle: "Percent", format: pct,
    }),
    table(["City", "Price/sqft", "Days on market", "Inventory", "Competition"], rows.map((r) => [
      name(r), money(r.price_per_sqft), num(r.median_days_on_market), num(r.inventory),
      label(r.competition_level)])));
}

/** A table that becomes one labelled card per row on a phone (app.css `.md-table`). */
function table(headings, rows) {
  const head = el("tr", {}, ...headings.map((h) => el("th", { scope: "col", text: h })));
  const body = rows.map((cells) => el("tr", {},
    ...cells.map((cell, i) => el("td", { "data-label": headings[i], text: cell }))));
  return el("div", { class: "table-wrap" },
    el("table", { class: "md-table" }, el("thead", {}, head), el("tbody", {}, ...body)));
}

function mortgage(display) {
  const principal = display.loan_amount;
  const interest = display.total_interest;
  const total = (principal || 0) + (interest || 0);
  const share = total > 0 ? Math.round(((principal || 0) / total) * 100) : 0;
  const bar = el("div", { class: "split-bar", role: "img",
    "aria-label": `Principal ${share}% and interest ${100 - share}% of the total paid` },
  el("span", { class: "split-principal" }), el("span", { class: "split-interest" }));
  bar.firstChild.style.width = `${share}%`; // element.style: allowed by the page's CSP
  bar.lastChild.style.width = `${100 - share}%`;
  return block("mortgage", `${cents(display.monthly_payment)} a month`,
    facts([
      ["Price", money(display.price)],
      ["Down payment", `${money(display.down_payment)}${typeof display.down_payment_pct === "number" ? ` (${display.down_payment_pct}%)` : ""}`],
      ["Loan", money(display.loan_amount)],
      ["Rate", typeof display.annual_rate_pct === "number" ? `${display.annual_rate_pct}% for ${display.years} years` : "—"],
      ["Total interest", money(display.total_interest)],
      ["Total paid", money(display.total_paid)],
    ]),
    bar,
    el("p", { class: "split-legend small" },
      el("span", { class: "swatch split-principal", "aria-hidden": "true" }), ` Principal ${money(principal)} `,
      el("span", { class: "swatch split-interest", "aria-hidden": "true" }), ` Interest ${money(interest)}`));
}

function affordability(display) {
  const lo = display.min_price;
  const hi = display.max_price;
  const end = niceEnd(hi);
  const range = el("div", { class: "range-bar", role: "img",
    "aria-label": `Comfortable up to ${money(lo)}, stretch up to ${money(hi)}` },
  el("span", { class: "range-comfortable" }), el("span", { class: "range-stretch" }));
  if (typeof lo === "number" && typeof hi === "number" && end > 0) {
    range.firstChild.style.width = `${(lo / end) * 100}%`;
    range.lastChild.style.width = `${((hi - lo) / end) * 100}%`;
  }
  return block("affordability", `${money(lo)} – ${money(hi)}`,
    range,
    el("p", { class: "split-legend small" },
      el("span", { class: "swatch range-comfortable", "aria-hidden": "true" }), ` Comfortable ${money(lo)} `,
      el("span", { class: "swatch range-stretch", "aria-hidden": "true" }), ` Stretch ${money(hi)}`),
    facts([
      ["Monthly budget", money(display.monthly_budget)],
      ["Down payment", money(display.down_payment)],
      ["Rate", typeof display.annual_rate_pct === "number" ? `${display.annual_rate_pct}% for ${display.years} years` : "—"],
      ["Rule", display.rule || "—"],
    ]));
}

function niceEnd(value) {
  return typeof value === "number" && value > 0 ? value * 1.15 : 0;
}

function metrics(display) {
  const conversion = (v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—");
  return block("metrics", "Listing performance",
    table(["Listing", "Views", "Saves", "Inquiries", "Conversion"], (display.rows || []).map((r) => [
      r.listing_id || "", num(r.page_views), num(r.saves), num(r.inquiries), conversion(r.conversion_rate)])));
}

const RENDERERS = { listings, listing, trend, markets, mortgage, affordability, metrics };

/** The block for `display`, or null if there is none or its kind is unknown. */
export function renderDisplay(display, act) {
  const render = display && RENDERERS[display.kind];
  if (!render) return null;
  try {
    return render(display, act);
  } catch (error) {
    console.warn("could not draw", display.kind, error);
    return null;
  }
}
