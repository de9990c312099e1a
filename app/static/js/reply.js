/* The views of one exchange: the user's bubble and the assistant's reply.
 *
 * A reply shows, top to bottom: a line per tool call (spinner, then ✓ or ✕ with its summary or
 * error and duration), an approval prompt for a call that waits for consent, the rich results
 * of the tools' `display` (display.js), the thinking line, the answer as safe markdown
 * (markdown.js), a notice for errors and endings other than completed, live metrics while it
 * streams (elapsed, tokens, tokens/s) then the final ones from `done`, and its actions (copy,
 * regenerate). The same view renders a reply as it streams and a stored one from the history
 * API (whose tool calls keep their `display`).
 */
import { el } from "./dom.js";
import { render } from "./markdown.js";
import { renderDisplay } from "./display.js";

// The offline assistant's once-per-conversation notice: the page shows it as a banner instead.
const OFFLINE_NOTICE = /^_You're using the built-in \*\*offline assistant\*\*[^\n]*\n*/;
// Rates over less time than this are noise ("67000 chunks/s"): CONTRACT.md 6.5.
const MIN_RATE_WINDOW_MS = 100;

/** A rough token count of streamed text (about four characters a token), for live figures. */
const estimateTokens = (text) => Math.ceil(text.length / 4);

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
  const ending = { cancelled: "stopped" }[call.status] || (call.error === "declined" ? "declined" : "failed");
  line.append(ok ? phrase : `${phrase}: ${ending}`);
  const detail = ok ? call.summary : (call.status === "cancelled" || call.error === "declined" ? "" : call.error);
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
  if (typeof metrics.tokens === "number") {
    parts.push(`${metrics.tokens} tokens`);
    if (typeof metrics.tokens_per_s === "number") parts.push(`${metrics.tokens_per_s.toFixed(1)} tokens/s`);
  } else {
    const streamingMs = metrics.duration_ms - (metrics.ttft_ms || 0);
    if (metrics.chunks > 1 && streamingMs >= MIN_RATE_WINDOW_MS) {
      parts.push(`${(metrics.chunks / (streamingMs / 1000)).toFixed(1)} chunks/s`);
    }
  }
  if (metrics.tool_calls !== undefined) {
    parts.push(`${metrics.tool_calls} tool call${metrics.tool_calls === 1 ? "" : "s"}`);
  }
  return parts.join(" · ");
}

/** "Elapsed 2.3 s · 41 tokens · 17.8 tokens/s" while the reply streams. */
function liveText(elapsedMs, tokens, streamingMs) {
  const parts = [`Elapsed ${seconds(Math.round(elapsedMs))}`, `${tokens} tokens`];
  if (tokens > 0 && streamingMs >= MIN_RATE_WINDOW_MS) {
    parts.push(`${(tokens / (streamingMs / 1000)).toFixed(1)} tokens/s`);
  }
  return parts.join(" · ");
}

export function userMessageView(text) {
  return el("article", { class: "msg msg-user", "aria-label": "You" },
    el("div", { class: "bubble", text }));
}

/** Show the offline assistant's notice once as a banner, and not inside the answer. */
function withoutOfflineNotice(text) {
  return text.replace(OFFLINE_NOTICE, "");
}

/**
 * One assistant reply: tool lines, approvals, rich results, thinking indicator, answer, notice,
 * metrics and actions. `hooks`: `act(text)` sends a request (card actions), `approve(call,
 * yes)` answers an approval (resolves when the server took it), `copied()` after a copy.
 */
export class ReplyView {
  constructor(hooks = {}) {
    this.hooks = hooks;
    this.text = "";
    this.toolLines = new Map();
    this.tools = el("ul", { class: "tools", "aria-label": "Tool calls", hidden: true });
    this.approvals = el("div", { class: "approvals" });
    this.displays = el("div", { class: "displays" });
    this.thinking = el("p", { class: "thinking", hidden: true },
      el("span", { class: "spinner", "aria-hidden": "true" }), "Thinking...");
    this.answer = el("div", { class: "answer", "aria-busy": "false" });
    this.notice = el("p", { class: "notice", role: "alert", hidden: true });
    this.metrics = el("p", { class: "metrics small", hidden: true });
    this.actions = el("div", { class: "reply-actions", hidden: true });
    this.root = el("article", { class: "msg msg-assistant", "aria-label": "Assistant" },
      this.tools, this.approvals, this.displays, this.thinking, this.answer, this.notice,
      this.metrics, this.actions);
    this.pending = false;
    this.started = performance.now();
    this.firstContent = null;
    this.ticker = null;
  }

  /** Live figures while streaming: updated with each chunk and once a second meanwhile. */
  startClock() {
    this.started = performance.now();
    this.metrics.hidden = false;
    this.tick();
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  tick() {
    const now = performance.now();
    const streamingMs = this.firstContent === null ? 0 : now - this.firstContent;
    this.metrics.dataset.live = "true";
    this.metrics.textContent = liveText(now - this.started, estimateTokens(this.text), streamingMs);
  }

  stopClock() {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    delete this.metrics.dataset.live;
  }

  /** Rich results of a finished tool call (its `display`), once per call. */
  showDisplay(call) {
    if (!call.display || this.displays.querySelector(`[data-call-id="${CSS.escape(call.call_id)}"]`)) return;
    const node = renderDisplay(call.display, (text) => this.hooks.act?.(text));
    if (!node) return;
    node.dataset.callId = call.call_id;
    this.displays.append(node);
  }

  /** The approval prompt of a call that acts outside the app (CONTRACT.md 6.3). */
  approval(request) {
    if (this.approvals.querySelector(`[data-approval="${CSS.escape(request.call_id)}"]`)) return;
    const args = request.arguments || {};
    const what = request.name === "send_listing_report"
      ? `Email a report of ${(args.listing_ids || []).join(", ") || "listings"} to ${args.recipient_email || "someone"}`
      : `Run ${String(request.name).replace(/_/g, " ")}`;
    const approve = el("button", { type: "button", class: "primary small", "data-answer": "approve" }, "Approve");
    const decline = el("button", { type: "button", class: "secondary small", "data-answer": "decline" }, "Decline");
    const status = el("p", { class: "approval-status small", role: "status" });
    const details = el("details", { class: "approval-details" },
      el("summary", { class: "small", text: "Show what will be sent" }),
      el("pre", { class: "approval-args small" }, JSON.stringify(args, null, 2)));
    const box = el("div", { class: "approval", "data-approval": request.call_id, role: "group",
      "aria-label": "Approval needed" },
    el("p", { class: "approval-title" }, el("strong", { class: "approval-label", text: "Approval needed: " }), what),
    el("p", { class: "small muted approval-expiry", text: `Nothing is sent until you approve. It is declined by itself after ${request.expires_in} s.` }),
    details, el("div", { class: "button-row" }, approve, decline), status);
    const answer = async (yes) => {
      approve.disabled = true;
      decline.disabled = true;
      status.textContent = yes ? "Approving…" : "Declining…";
      try {
        await this.hooks.approve?.(request, yes);
        status.textContent = yes ? "Approved." : "Declined.";
        box.dataset.answered = yes ? "approved" : "declined";
        box.querySelector(".approval-label").textContent = "Asked: ";
      } catch (error) {
        status.textContent = error.message;
        box.dataset.answered = "closed";
      }
    };
    approve.addEventListener("click", () => answer(true));
    decline.addEventListener("click", () => answer(false));
    this.approvals.append(box);
    approve.focus({ preventScroll: false });
  }

  /** Close approval prompts still open (the call ended, or the reply did), saying why. */
  closeApprovals(callId, why) {
    const boxes = callId === undefined ? this.approvals.querySelectorAll("[data-approval]")
      : this.approvals.querySelectorAll(`[data-approval="${CSS.escape(callId)}"]`);
    for (const box of boxes) {
      for (const button of box.querySelectorAll("button")) button.disabled = true;
      if (box.dataset.answered) continue;
      box.dataset.answered = "closed";
      box.querySelector(".approval-label").textContent = "Asked: ";
      box.querySelector(".approval-status").textContent = why;
    }
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
    if (call.status !== "started") {
      const declined = call.error === "declined" ? "Declined: no answer in time." : "Not run.";
      this.closeApprovals(call.call_id, call.status === "completed" ? "Approved." : declined);
      this.showDisplay(line.call);
    }
  }

  append(chunk) {
    this.showThinking(false);
    if (this.firstContent === null) this.firstContent = performance.now();
    this.text += chunk;
    if (this.ticker !== null) this.tick();
    if (this.pending) return;
    this.pending = true; // re-render at most once per frame however fast chunks come
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderAnswer();
    });
  }

  renderAnswer() {
    this.answer.replaceChildren(render(withoutOfflineNotice(this.text)));
  }

  /** Copy (any finished reply) and Regenerate (`regenerate` given: the last reply). */
  showActions(regenerate) {
    const copy = el("button", { type: "button", class: "ghost small", "data-action": "copy" }, "Copy");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(this.text);
        copy.textContent = "Copied";
        this.hooks.copied?.();
      } catch {
        copy.textContent = "Copy failed";
      }
      setTimeout(() => { copy.textContent = "Copy"; }, 2000);
    });
    const buttons = [copy];
    if (regenerate) {
      const again = el("button", { type: "button", class: "ghost small", "data-action": "regenerate" }, "Regenerate");
      again.addEventListener("click", regenerate);
      buttons.push(again);
    }
    this.actions.replaceChildren(...buttons);
    this.actions.hidden = false;
  }

  hideActions() {
    this.actions.hidden = true;
    this.actions.replaceChildren();
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
    this.stopClock();
    this.showThinking(false);
    this.renderAnswer();
    this.busy(false);
    this.closeApprovals(undefined, "Not sent: the reply ended before an answer.");
    for (const line of this.tools.querySelectorAll('.tool-line[data-status="started"]')) {
      renderToolLine(line, { ...line.call, status: "cancelled" });
    }
    this.root.dataset.status = status;
    if (STATUS_NOTES[status] && (this.notice.hidden || status !== "failed")) {
      this.note(STATUS_NOTES[status], status === "cancelled" ? "info" : "error");
    }
    if (metrics) {
      this.metrics.textContent = metricsText(metrics);
      this.metrics.hidden = false;
    } else if (this.metrics.textContent === "") {
      this.metrics.hidden = true;
    }
  }

  /** A stored message from the history API. */
  static fromHistory(message, hooks) {
    const view = new ReplyView(hooks);
    for (const call of message.tool_calls || []) view.tool(call);
    view.text = message.content || "";
    view.finish(message.status === "streaming" ? "interrupted" : message.status, message.metrics);
    return view;
  }
}
