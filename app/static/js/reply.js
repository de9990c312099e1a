/* The views of one exchange: the user's bubble and the assistant's reply.
 *
 * A reply shows, top to bottom: a line per tool call (spinner, then ✓ or ✕ with its summary or
 * error and duration), the thinking line, the answer as safe markdown (markdown.js), a notice
 * for errors and endings other than completed, and a metrics footer. The same view renders a
 * reply as it streams and a stored one from the history API.
 */
import { el } from "./dom.js";
import { render } from "./markdown.js";

const TOOL_PHRASES = {
  search_listings: "Searching listings",
  get_listing: "Loading listing",
  send_listing_report: "Sending a listing report",
  get_market_analysis: "Analyzing the market",
  get_price_trends: "Reading price trends",
  compare_markets: "Comparing markets",
  get_listing_metrics: "Fetching listing metrics",
  generate_performance_report: "Building a performance report",
  estimate_mortgage: "Estimating a mortgage",
};

const STATUS_NOTES = {
  cancelled: "Stopped.",
  failed: "The reply could not be completed.",
  timeout: "The reply took too long and was stopped.",
  interrupted: "Interrupted: the connection was lost before the reply finished.",
};

function seconds(ms) {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "Searching listings in Portland" from a tool name and its arguments. */
function toolPhrase(name, args = {}) {
  let phrase = TOOL_PHRASES[name] || `Running ${String(name).replace(/_/g, " ")}`;
  if (args.city) phrase += ` in ${args.city}${args.state ? ", " + args.state : ""}`;
  else if (Array.isArray(args.cities)) phrase += `: ${args.cities.join(", ")}`;
  if (args.listing_id) phrase += ` ${args.listing_id}`;
  if (Array.isArray(args.listing_ids)) phrase += ` (${args.listing_ids.length})`;
  if (args.price) phrase += ` for $${Number(args.price).toLocaleString()}`;
  if (args.recipient_email) phrase += ` to ${args.recipient_email}`;
  return phrase;
}

function renderToolLine(line, call) {
  const phrase = toolPhrase(call.name, call.arguments);
  line.dataset.status = call.status;
  line.replaceChildren();
  if (call.status === "started") {
    line.append(el("span", { class: "spinner", "aria-hidden": "true" }), `${phrase}…`);
    return;
  }
  const ok = call.status === "completed";
  line.append(el("span", { class: "tool-icon", "aria-hidden": "true", text: ok ? "✓" : "✕" }));
  line.append(ok ? phrase : `${phrase}: failed`);
  const detail = ok ? call.summary : call.error;
  if (detail) line.append(el("span", { class: "tool-detail", text: ` · ${detail}` }));
  if (call.duration_ms !== undefined) {
    line.append(el("span", { class: "tool-time", text: ` · ${seconds(call.duration_ms)}` }));
  }
}

function metricsText(metrics) {
  const parts = [];
  if (metrics.ttft_ms !== null && metrics.ttft_ms !== undefined) {
    parts.push(`First token ${seconds(metrics.ttft_ms)}`);
  }
  parts.push(`Total ${seconds(metrics.duration_ms)}`);
  const streaming = (metrics.duration_ms - (metrics.ttft_ms || 0)) / 1000;
  if (metrics.chunks > 1 && streaming > 0) {
    parts.push(`${(metrics.chunks / streaming).toFixed(1)} chunks/s`);
  }
  parts.push(`${metrics.tool_calls} tool call${metrics.tool_calls === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

export function userMessageView(text) {
  return el("article", { class: "msg msg-user", "aria-label": "You" },
    el("div", { class: "bubble", text }));
}

/** One assistant reply: tool lines, thinking indicator, answer, notice and metrics. */
export class ReplyView {
  constructor() {
    this.text = "";
    this.toolLines = new Map();
    this.tools = el("ul", { class: "tools", "aria-label": "Tool calls", hidden: true });
    this.thinking = el("p", { class: "thinking", hidden: true },
      el("span", { class: "spinner", "aria-hidden": "true" }), "Thinking...");
    this.answer = el("div", { class: "answer", "aria-live": "polite", "aria-busy": "false" });
    this.notice = el("p", { class: "notice", role: "alert", hidden: true });
    this.metrics = el("p", { class: "metrics small", hidden: true });
    this.root = el("article", { class: "msg msg-assistant", "aria-label": "Assistant" },
      this.tools, this.thinking, this.answer, this.notice, this.metrics);
    this.pending = false;
  }

  showThinking(on) {
    this.thinking.hidden = !on;
  }

  tool(call) {
    let line = this.toolLines.get(call.call_id);
    if (!line) {
      line = el("li", { class: "tool-line" });
      this.toolLines.set(call.call_id, line);
      this.tools.append(line);
      this.tools.hidden = false;
    }
    const previous = line.call || {};
    line.call = { ...previous, ...call, arguments: call.arguments || previous.arguments };
    renderToolLine(line, line.call);
  }

  append(chunk) {
    this.showThinking(false);
    this.text += chunk;
    if (this.pending) return;
    this.pending = true; // re-render at most once per frame however fast chunks come
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderAnswer();
    });
  }

  renderAnswer() {
    this.answer.replaceChildren(render(this.text));
  }

  busy(on) {
    this.answer.setAttribute("aria-busy", on ? "true" : "false");
    this.root.classList.toggle("streaming", on);
  }

  note(message, kind = "info") {
    this.notice.hidden = false;
    this.notice.dataset.kind = kind;
    this.notice.textContent = message;
  }

  finish(status, metrics) {
    this.showThinking(false);
    this.renderAnswer();
    this.busy(false);
    this.root.dataset.status = status;
    if (STATUS_NOTES[status] && (this.notice.hidden || status !== "failed")) {
      this.note(STATUS_NOTES[status], status === "cancelled" ? "info" : "error");
    }
    if (metrics) {
      this.metrics.textContent = metricsText(metrics);
      this.metrics.hidden = false;
    }
  }

  /** A stored message from the history API. */
  static fromHistory(message) {
    const view = new ReplyView();
    for (const call of message.tool_calls || []) view.tool(call);
    view.text = message.content || "";
    view.finish(message.status === "streaming" ? "interrupted" : message.status, message.metrics);
    return view;
  }
}
