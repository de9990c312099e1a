/* The chat page: conversations, streamed replies over EventSource, safe markdown.
 *
 * No dependencies, no build step. Model text is never given to innerHTML: the markdown renderer
 * builds DOM nodes with createElement and textContent, and links keep only http(s) URLs.
 * A reply is started with POST /agents/streams and followed with the browser's own EventSource,
 * whose reconnect sends Last-Event-ID; events are also de-duplicated here by their sequence.
 */
(() => {
  "use strict";

  const $ = (selector, root = document) => root.querySelector(selector);
  const CSRF = $('meta[name="csrf-token"]').content;

  // ---------------------------------------------------------------- small DOM and HTTP helpers

  /** createElement with attributes and children (strings become text nodes). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** JSON request with the session's CSRF header; throws an Error carrying the API's message. */
  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json", "X-CSRFToken": CSRF } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      connection.set("offline");
      throw new Error("The server cannot be reached. Check your connection.");
    }
    if (response.status === 401) {
      window.location.assign("/auth/login?next=" + encodeURIComponent(location.pathname));
      throw new Error("Your session has ended; please log in again.");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || `Request failed (${response.status})`);
    }
    return data;
  }

  function seconds(ms) {
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  // ---------------------------------------------------------------- safe markdown

  const Markdown = (() => {
    const INLINE = new RegExp(
      [
        "`([^`\\n]+)`", // 1 code
        "\\[([^\\]\\n]+)\\]\\(((?:[^()\\s]|\\([^()\\s]*\\))+)\\)", // 2 label, 3 url
        "\\*\\*(?=\\S)(.+?)\\*\\*", // 4 bold
        "(?<![\\w])__(?=\\S)(.+?)__(?![\\w])", // 5 bold
        "\\*(?=[^\\s*])(.+?)\\*", // 6 italic
        "(?<![\\w])_(?=[^\\s_])(.+?)_(?![\\w])", // 7 italic
        "(https?://[^\\s<>()]+[^\\s<>().,;:!?'\"])", // 8 bare URL
      ].join("|"),
      "g",
    );

    /** An absolute http(s) URL, or null: javascript:, data: and the like never become links. */
    function safeHref(raw) {
      try {
        const url = new URL(raw, window.location.origin);
        return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
      } catch {
        return null;
      }
    }

    function link(label, raw) {
      const href = safeHref(raw);
      if (!href) return document.createTextNode(label);
      return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, label);
    }

    /** Append `text` to `parent` with code, links, bold and italic as elements. */
    function inline(text, parent) {
      let last = 0;
      INLINE.lastIndex = 0;
      for (const match of text.matchAll(INLINE)) {
        if (match.index > last) parent.append(text.slice(last, match.index));
        const [, code, label, url, b1, b2, i1, i2, bare] = match;
        if (code !== undefined) parent.append(el("code", { text: code }));
        else if (label !== undefined) parent.append(link(label, url));
        else if (b1 !== undefined || b2 !== undefined) inline(b1 ?? b2, parent.appendChild(el("strong")));
        else if (i1 !== undefined || i2 !== undefined) inline(i1 ?? i2, parent.appendChild(el("em")));
        else if (bare !== undefined) parent.append(link(bare, bare));
        last = match.index + match[0].length;
      }
      if (last < text.length) parent.append(text.slice(last));
      return parent;
    }

    const FENCE = /^\s*```/;
    const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
    const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
    const QUOTE = /^\s*>\s?/;
    const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
    const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

    const indentOf = (line) => line.match(/^\s*/)[0].length;
    const isTableStart = (lines, i) =>
      lines[i].includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]) &&
      lines[i + 1].includes("-");
    const startsBlock = (lines, i) =>
      FENCE.test(lines[i]) || HEADING.test(lines[i]) || RULE.test(lines[i]) ||
      QUOTE.test(lines[i]) || ITEM.test(lines[i]) || isTableStart(lines, i);

    function splitRow(line) {
      let row = line.trim();
      if (row.startsWith("|")) row = row.slice(1);
      if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
      return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
    }

    function alignments(separator) {
      return splitRow(separator).map((cell) => {
        if (cell.startsWith(":") && cell.endsWith(":")) return "center";
        if (cell.endsWith(":")) return "right";
        return null;
      });
    }

    /** A GFM table; each cell carries its column name so narrow screens can show cards. */
    function table(lines, i, out) {
      const head = splitRow(lines[i]);
      const align = alignments(lines[i + 1]);
      const tbody = el("tbody");
      let j = i + 2;
      for (; j < lines.length && lines[j].includes("|") && lines[j].trim(); j++) {
        const cells = splitRow(lines[j]);
        const row = el("tr");
        head.forEach((name, k) => {
          const td = inline(cells[k] ?? "", el("td", { "data-label": name }));
          if (align[k]) td.style.textAlign = align[k];
          row.append(td);
        });
        tbody.append(row);
      }
      const headRow = el("tr");
      head.forEach((name, k) => {
        const th = inline(name, el("th", { scope: "col" }));
        if (align[k]) th.style.textAlign = align[k];
        headRow.append(th);
      });
      out.append(el("div", { class: "table-wrap" },
        el("table", { class: "md-table" }, el("thead", {}, headRow), tbody)));
      return j;
    }

    /** A list; an item owns the following lines indented past its marker (nested lists too). */
    function list(lines, i, out) {
      const first = lines[i].match(ITEM);
      const base = first[1].length;
      const ordered = /\d/.test(first[2]);
      const node = el(ordered ? "ol" : "ul");
      if (ordered && parseInt(first[2], 10) !== 1) node.setAttribute("start", parseInt(first[2], 10));
      let j = i;
      while (j < lines.length) {
        const match = lines[j].match(ITEM);
        if (!match || match[1].length !== base || /\d/.test(match[2]) !== ordered) break;
        const body = [match[3]];
        j++;
        while (j < lines.length && lines[j].trim() && indentOf(lines[j]) > base) {
          body.push(lines[j].slice(Math.min(indentOf(lines[j]), base + 2)));
          j++;
        }
        const li = el("li");
        blocks(body, li, true);
        node.append(li);
        if (j < lines.length && !lines[j].trim() && j + 1 < lines.length) {
          const next = lines[j + 1].match(ITEM);
          if (next && next[1].length === base) j++; // a loose list keeps going after a blank line
        }
      }
      out.append(node);
      return j;
    }

    /** Render block-level markdown `lines` into `out`. `tight` drops the <p> of list items. */
    function blocks(lines, out, tight = false) {
      let i = 0;
      while (i < lines.length) {
        const line = lines[i];
        if (!line.trim()) { i++; continue; }
        if (FENCE.test(line)) {
          const code = [];
          for (i++; i < lines.length && !FENCE.test(lines[i]); i++) code.push(lines[i]);
          out.append(el("pre", { class: "code" }, el("code", { text: code.join("\n") })));
          i++;
          continue;
        }
        const heading = line.match(HEADING);
        if (heading) {
          const level = Math.min(6, heading[1].length + 2); // an answer's "#" is a section
          out.append(inline(heading[2], el(`h${level}`)));
          i++;
          continue;
        }
        if (RULE.test(line)) { out.append(el("hr")); i++; continue; }
        if (isTableStart(lines, i)) { i = table(lines, i, out); continue; }
        if (ITEM.test(line)) { i = list(lines, i, out); continue; }
        if (QUOTE.test(line)) {
          const quoted = [];
          for (; i < lines.length && QUOTE.test(lines[i]); i++) quoted.push(lines[i].replace(QUOTE, ""));
          blocks(quoted, out.appendChild(el("blockquote")));
          continue;
        }
        const para = [line];
        for (i++; i < lines.length && lines[i].trim() && !startsBlock(lines, i); i++) para.push(lines[i]);
        const target = tight ? out : out.appendChild(el("p"));
        para.forEach((text, k) => {
          if (k) target.append(el("br"));
          inline(text.trim(), target);
        });
      }
      return out;
    }

    /** The whole text as a DocumentFragment of safe elements. */
    function render(text) {
      return blocks(String(text).replace(/\r\n?/g, "\n").split("\n"), document.createDocumentFragment());
    }

    return { render, safeHref };
  })();

  // ---------------------------------------------------------------- connection indicator

  const connection = (() => {
    const root = $("#connection");
    const label = $(".connection-label", root);
    const TEXT = { connected: "Connected", reconnecting: "Reconnecting…", offline: "Offline" };
    function set(state) {
      const effective = navigator.onLine ? state : "offline";
      if (root.dataset.state === effective) return;
      root.dataset.state = effective;
      label.textContent = TEXT[effective];
    }
    window.addEventListener("offline", () => set("offline"));
    window.addEventListener("online", () => set(state.active ? "reconnecting" : "connected"));
    return { set };
  })();

  // ---------------------------------------------------------------- page state and elements

  const state = {
    conversationId: null,
    conversations: [],
    active: null, // the reply being streamed: {streamId, conversationId, source, view}
  };

  const ui = {
    layout: $("#chat-layout"),
    list: $("#conversation-list"),
    empty: $("#conversation-empty"),
    title: $("#conversation-title"),
    messages: $("#messages"),
    welcome: $("#welcome"),
    form: $("#composer"),
    input: $("#message"),
    send: $("#send"),
    stop: $("#stop"),
    toggle: $("#sidebar-toggle"),
  };

  // ---------------------------------------------------------------- tool lines

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

  // ---------------------------------------------------------------- message views

  const STATUS_NOTES = {
    cancelled: "Stopped.",
    failed: "The reply could not be completed.",
    timeout: "The reply took too long and was stopped.",
    interrupted: "Interrupted: the connection was lost before the reply finished.",
  };

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

  function userMessageView(text) {
    return el("article", { class: "msg msg-user", "aria-label": "You" },
      el("div", { class: "bubble", text }));
  }

  /** One assistant reply: tool lines, thinking indicator, answer, notice and metrics. */
  class ReplyView {
    constructor() {
      this.text = "";
      this.toolLines = new Map();
      this.tools = el("ul", { class: "tools", "aria-label": "Tool calls" });
      this.thinking = el("p", { class: "thinking", hidden: true },
        el("span", { class: "spinner", "aria-hidden": "true" }), "Thinking...");
      this.answer = el("div", { class: "answer", "aria-live": "polite", "aria-busy": "false" });
      this.notice = el("p", { class: "notice", role: "alert", hidden: true });
      this.metrics = el("p", { class: "metrics small", hidden: true });
      this.root = el("article", { class: "msg msg-assistant", "aria-label": "Assistant" },
        this.tools, this.thinking, this.answer, this.notice, this.metrics);
      this.tools.hidden = true;
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
      this.answer.replaceChildren(Markdown.render(this.text));
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

  function scrollToEnd(force = false) {
    const box = ui.messages;
    const nearEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    if (force || nearEnd) box.scrollTop = box.scrollHeight;
  }

  function showMessage(node) {
    ui.welcome.hidden = true;
    ui.messages.append(node);
    scrollToEnd(true);
  }

  // ---------------------------------------------------------------- streaming a reply

  const sequenceOf = (eventId) => Number(String(eventId || "").split(":").pop()) || 0;

  /** Follow one stream with EventSource until `done`; the browser reconnects by itself. */
  function follow(streamUrl, info, view) {
    const source = new EventSource(streamUrl);
    const reply = { ...info, source, view, lastSeq: 0, sawContent: false };
    state.active = reply;
    setBusy(true);
    view.busy(true);

    const on = (name, handler) =>
      source.addEventListener(name, (event) => {
        const seq = sequenceOf(event.lastEventId);
        if (seq && seq <= reply.lastSeq) return; // already seen: never doubled
        if (seq) reply.lastSeq = seq;
        handler(JSON.parse(event.data));
        scrollToEnd();
      });

    on("start", (data) => adoptConversation(data.conversation_id));
    on("thinking", () => view.showThinking(!reply.sawContent));
    on("tool", (data) => view.tool(data));
    on("content", (data) => {
      reply.sawContent = true;
      view.append(data.chunk);
    });
    on("done", (data) => {
      source.close();
      view.finish(data.status, data.metrics);
      endReply(reply);
    });
    source.addEventListener("error", (event) => {
      if (event instanceof MessageEvent && event.data) {
        const seq = sequenceOf(event.lastEventId);
        if (seq && seq <= reply.lastSeq) return;
        reply.lastSeq = seq || reply.lastSeq;
        view.note(JSON.parse(event.data).message || "Something went wrong.", "error");
        return;
      }
      if (source.readyState === EventSource.CLOSED) streamLost(reply);
      else connection.set("reconnecting");
    });
    source.addEventListener("open", () => connection.set("connected"));
  }

  /** The server refused to resume (expired or unknown stream): show what history saved. */
  async function streamLost(reply) {
    reply.source.close();
    reply.view.busy(false);
    reply.view.note("The connection was lost; showing what was saved.", "error");
    endReply(reply);
    if (reply.conversationId === state.conversationId) {
      await openConversation(reply.conversationId, { resume: false }).catch(() => {});
    }
  }

  function endReply(reply) {
    if (state.active === reply) state.active = null;
    connection.set("connected");
    setBusy(false);
    loadConversations();
  }

  function setBusy(busy) {
    ui.input.disabled = busy;
    ui.send.hidden = busy;
    ui.stop.hidden = !busy;
    ui.stop.disabled = false;
    ui.stop.textContent = "Stop";
    const focusLost = !document.activeElement || document.activeElement === document.body;
    if (!busy && (focusLost || document.activeElement === ui.stop)) ui.input.focus();
  }

  async function stopReply() {
    const reply = state.active;
    if (!reply) return;
    ui.stop.disabled = true;
    ui.stop.textContent = "Stopping…";
    try {
      await api("POST", `/agents/streams/${reply.streamId}/cancel`);
    } catch (error) {
      reply.source.close();
      reply.view.finish("cancelled");
      reply.view.note(error.message, "error");
      endReply(reply);
    }
  }

  async function sendMessage(text) {
    const message = text.trim();
    if (!message || state.active) return;
    ui.input.value = "";
    autosize();
    showMessage(userMessageView(message));
    const view = new ReplyView();
    view.showThinking(true);
    showMessage(view.root);
    setBusy(true);
    ui.stop.focus(); // keyboard users can stop the reply with Enter or Space
    try {
      const started = await api("POST", "/agents/streams", {
        message,
        conversation_id: state.conversationId || undefined,
      });
      adoptConversation(started.conversation_id);
      follow(started.stream_url, {
        streamId: started.stream_id,
        conversationId: started.conversation_id,
      }, view);
    } catch (error) {
      view.finish("failed");
      view.note(error.message, "error");
      ui.input.value = message;
      setBusy(false);
    }
  }

  // ---------------------------------------------------------------- conversations

  function adoptConversation(id) {
    if (!id || state.conversationId === id) return;
    state.conversationId = id;
    history.replaceState(null, "", `/?c=${encodeURIComponent(id)}`);
    loadConversations();
  }

  function conversationItem(conversation) {
    const current = conversation.id === state.conversationId;
    const open = el("button", {
      type: "button", class: "conversation-open", "aria-current": current ? "page" : null,
      title: conversation.title,
    }, conversation.title);
    open.addEventListener("click", () => {
      closeSidebar();
      openConversation(conversation.id);
    });
    const rename = el("button", { type: "button", class: "icon", "aria-label": `Rename “${conversation.title}”`, title: "Rename" }, "✎");
    rename.addEventListener("click", () => startRename(item, conversation));
    const remove = el("button", { type: "button", class: "icon", "aria-label": `Delete “${conversation.title}”`, title: "Delete" }, "✕");
    remove.addEventListener("click", () => deleteConversation(conversation));
    const item = el("li", { class: current ? "conversation current" : "conversation", "data-id": conversation.id },
      open, el("span", { class: "conversation-actions" }, rename, remove));
    return item;
  }

  function renderConversations() {
    ui.list.replaceChildren(...state.conversations.map(conversationItem));
    ui.empty.hidden = state.conversations.length > 0;
    const current = state.conversations.find((c) => c.id === state.conversationId);
    ui.title.textContent = current ? current.title : "New conversation";
  }

  async function loadConversations() {
    try {
      state.conversations = (await api("GET", "/agents/conversations")).conversations;
      renderConversations();
    } catch (error) {
      ui.empty.hidden = false;
      ui.empty.textContent = error.message;
    }
  }

  function startRename(item, conversation) {
    const input = el("input", { class: "rename-input", "aria-label": "New title", maxlength: "200" });
    input.value = conversation.title;
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== conversation.title) {
        try {
          await api("PATCH", `/agents/conversations/${conversation.id}`, { title });
        } catch (error) {
          window.alert(error.message);
        }
      }
      await loadConversations();
      const again = ui.list.querySelector(`[data-id="${CSS.escape(conversation.id)}"] .conversation-open`);
      if (again) again.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
    item.replaceChildren(input);
    input.focus();
    input.select();
  }

  async function deleteConversation(conversation) {
    if (!window.confirm(`Delete “${conversation.title}”? This cannot be undone.`)) return;
    try {
      await api("DELETE", `/agents/conversations/${conversation.id}`);
    } catch (error) {
      window.alert(error.message);
      return;
    }
    if (conversation.id === state.conversationId) newConversation();
    await loadConversations();
  }

  function clearMessages() {
    ui.messages.replaceChildren(ui.welcome);
    ui.welcome.hidden = false;
  }

  function newConversation() {
    state.conversationId = null;
    history.replaceState(null, "", "/");
    clearMessages();
    renderConversations();
    closeSidebar();
    if (!state.active) ui.input.focus();
  }

  /** Show a stored conversation; a reply still streaming is re-attached (after a reload). */
  async function openConversation(id, { resume = true } = {}) {
    const data = await api("GET", `/agents/conversations/${encodeURIComponent(id)}`).catch((error) => {
      newConversation();
      throw error;
    });
    state.conversationId = id;
    history.replaceState(null, "", `/?c=${encodeURIComponent(id)}`);
    clearMessages();
    const active = state.active && state.active.conversationId === id ? state.active : null;
    for (const message of data.messages) {
      if (message.role === "user") {
        showMessage(userMessageView(message.content));
      } else if (active && message.stream_id === active.streamId) {
        showMessage(active.view.root);
      } else if (message.status === "streaming" && resume && !state.active) {
        const view = new ReplyView();
        showMessage(view.root);
        follow(`/agents/streams/${message.stream_id}`, {
          streamId: message.stream_id, conversationId: id,
        }, view);
      } else {
        showMessage(ReplyView.fromHistory(message).root);
      }
    }
    renderConversations();
  }

  // ---------------------------------------------------------------- composer and layout

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
  }

  function closeSidebar() {
    ui.layout.dataset.sidebar = "closed";
    ui.toggle.setAttribute("aria-expanded", "false");
  }

  function toggleSidebar() {
    const open = ui.layout.dataset.sidebar !== "open";
    ui.layout.dataset.sidebar = open ? "open" : "closed";
    ui.toggle.setAttribute("aria-expanded", String(open));
    if (open) $("#new-conversation").focus();
  }

  function bindEvents() {
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendMessage(ui.input.value);
    });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendMessage(ui.input.value);
      }
    });
    ui.input.addEventListener("input", autosize);
    ui.stop.addEventListener("click", stopReply);
    ui.toggle.addEventListener("click", toggleSidebar);
    $(".chat").addEventListener("click", (event) => {
      if (ui.layout.dataset.sidebar === "open" && !ui.toggle.contains(event.target)) closeSidebar();
    });
    $("#new-conversation").addEventListener("click", newConversation);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && ui.layout.dataset.sidebar === "open") {
        closeSidebar();
        ui.toggle.focus();
      }
    });
    for (const button of document.querySelectorAll(".suggestion")) {
      button.addEventListener("click", () => sendMessage(button.textContent));
    }
  }

  /** Flash messages float over the chat; they leave by themselves after a while. */
  function dismissFlashes() {
    const flashes = $(".flashes");
    if (flashes) setTimeout(() => flashes.remove(), 6000);
  }

  async function start() {
    bindEvents();
    dismissFlashes();
    connection.set("connected");
    await loadConversations();
    const id = new URLSearchParams(window.location.search).get("c");
    if (id) await openConversation(id).catch(() => {});
  }

  window.EstateMarkdown = Markdown; // exposed for the browser tests of the renderer
  start();
})();
