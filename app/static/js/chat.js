/* The chat page's entry: the composer, the messages pane and the one reply being followed.
 *
 * It wires the other modules together: a message is sent with stream.js and its reply drawn by
 * reply.js as events arrive; sidebar.js lists the conversations and asks this page to open one;
 * connection.js shows whether the stream is connected. Opening a conversation whose reply is
 * still streaming (after a reload) re-attaches to that stream. The last exchange has its
 * actions: copy and regenerate the reply, edit and resend the message (CONTRACT.md 6.4); a
 * finished reply is announced once in a live region (not chunk by chunk).
 */
import { $, el } from "./dom.js";
import { api } from "./api.js";
import { setConnection, watchConnection } from "./connection.js";
import { ReplyView, userMessageView } from "./reply.js";
import { closeSidebar, initSidebar, loadConversations, renderConversations } from "./sidebar.js";
import { answerApproval, cancelReply, follow, regenerateReply, startReply } from "./stream.js";

const state = {
  conversationId: null,
  active: null, // the reply being streamed: {streamId, conversationId, view, close}
  editing: null, // the user message being edited: its view, while the composer holds its text
};

const ui = {
  messages: $("#messages"),
  welcome: $("#welcome"),
  form: $("#composer"),
  input: $("#message"),
  send: $("#send"),
  stop: $("#stop"),
  announcer: $("#announcer"),
  toasts: $("#toasts"),
  exportLink: $("#export-conversation"),
  editNote: $("#editing-note"),
};

/** A short message in the toast strip above the conversation (never over it). */
function toast(message) {
  const item = el("p", { class: "toast", text: message });
  ui.toasts.append(item);
  setTimeout(() => item.remove(), 4000);
}

/** Say once that the reply finished (screen readers), with the start of its text. */
function announce(view, status) {
  const text = view.text.trim();
  const preview = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  ui.announcer.textContent = status === "completed"
    ? `Assistant replied: ${preview}` : `Reply ${status}. ${preview}`;
}

function replyHooks() {
  return {
    act: (text) => sendMessage(text),
    approve: (request, yes) => {
      const reply = state.active;
      if (!reply) return Promise.reject(new Error("This reply has ended."));
      return answerApproval(reply.streamId, request.call_id, yes);
    },
    copied: () => toast("Copied to the clipboard."),
  };
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

// ---------------------------------------------------------------- the reply being followed

/** Follow one stream into `view` until `done`; the browser reconnects by itself. */
function followReply(streamUrl, info, view) {
  const reply = { ...info, view };
  let sawContent = false;
  const scrolling = (handler) => (data) => {
    handler(data);
    scrollToEnd();
  };
  state.active = reply;
  setBusy(true);
  view.busy(true);
  view.startClock();
  reply.close = follow(streamUrl, {
    start: scrolling((data) => adoptConversation(data.conversation_id)),
    thinking: scrolling(() => view.showThinking(!sawContent)),
    tool: scrolling((data) => view.tool(data)),
    approval: scrolling((data) => view.approval(data)),
    content: scrolling((data) => {
      sawContent = true;
      view.append(data.chunk);
    }),
    done: scrolling((data) => {
      view.finish(data.status, data.metrics);
      announce(view, data.status);
      endReply(reply);
    }),
    error: (data) => view.note(data.message || "Something went wrong.", "error"),
    lost: () => streamLost(reply),
    reconnecting: () => setConnection("reconnecting"),
    open: () => setConnection("connected"),
  });
}

/** The server refused to resume (expired or unknown stream): show what history saved. */
async function streamLost(reply) {
  reply.close();
  reply.view.busy(false);
  reply.view.note("The connection was lost; showing what was saved.", "error");
  endReply(reply);
  if (reply.conversationId === state.conversationId) {
    await openConversation(reply.conversationId, { resume: false }).catch(() => {});
  }
}

function endReply(reply) {
  if (state.active === reply) state.active = null;
  setConnection("connected");
  setBusy(false);
  refreshActions();
  loadConversations();
}

// ---------------------------------------------------------------- actions on the last exchange

/** Copy on every reply; Regenerate on the last one and Edit on the last message (when idle). */
function refreshActions() {
  const replies = [...ui.messages.querySelectorAll(".msg-assistant")];
  for (const node of ui.messages.querySelectorAll(".msg-user .edit-message")) node.remove();
  replies.forEach((node, index) => {
    const view = node.view;
    if (!view || node.classList.contains("streaming")) return;
    const last = index === replies.length - 1 && state.conversationId && !state.active;
    view.showActions(last ? () => regenerate() : null);
  });
  const users = ui.messages.querySelectorAll(".msg-user");
  const lastUser = users[users.length - 1];
  if (lastUser && state.conversationId && !state.active) {
    const edit = el("button", { type: "button", class: "ghost small edit-message", "data-action": "edit" }, "Edit");
    edit.addEventListener("click", () => startEditing(lastUser));
    lastUser.append(edit);
  }
}

function lastReplyNode() {
  const replies = ui.messages.querySelectorAll(".msg-assistant");
  return replies[replies.length - 1] || null;
}

/** A new reply in place of the last one (after editing the last message if `message`). */
async function regenerate(message) {
  if (state.active || !state.conversationId) return;
  const previous = lastReplyNode();
  const view = new ReplyView(replyHooks());
  view.root.view = view;
  view.showThinking(true);
  setBusy(true);
  try {
    const started = await regenerateReply(state.conversationId, message);
    if (previous) previous.replaceWith(view.root);
    else showMessage(view.root);
    if (message !== undefined) {
      const users = ui.messages.querySelectorAll(".msg-user .bubble");
      if (users.length) users[users.length - 1].textContent = message;
    }
    scrollToEnd(true);
    ui.stop.focus();
    followReply(started.stream_url, {
      streamId: started.stream_id, conversationId: started.conversation_id || state.conversationId,
    }, view);
  } catch (error) {
    setBusy(false);
    toast(error.message);
  }
}

function startEditing(userNode) {
  state.editing = userNode;
  ui.input.value = $(".bubble", userNode).textContent;
  ui.editNote.hidden = false;
  ui.send.textContent = "Resend";
  autosize();
  ui.input.focus();
}

function stopEditing() {
  state.editing = null;
  ui.editNote.hidden = true;
  ui.send.textContent = "Send";
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
    await cancelReply(reply.streamId);
  } catch (error) {
    reply.close();
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
  if (state.editing) {
    stopEditing();
    await regenerate(message);
    return;
  }
  for (const node of ui.messages.querySelectorAll(".edit-message")) node.remove();
  lastReplyNode()?.view?.showActions(null);
  showMessage(userMessageView(message));
  const view = new ReplyView(replyHooks());
  view.root.view = view;
  view.showThinking(true);
  showMessage(view.root);
  setBusy(true);
  ui.stop.focus(); // keyboard users can stop the reply with Enter or Space
  try {
    const started = await startReply(message, state.conversationId);
    adoptConversation(started.conversation_id);
    followReply(started.stream_url, {
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

// ---------------------------------------------------------------- which conversation is shown

function adoptConversation(id) {
  if (!id || state.conversationId === id) return;
  state.conversationId = id;
  history.replaceState(null, "", `/?c=${encodeURIComponent(id)}`);
  showExport();
  loadConversations();
}

/** The Markdown export of the shown conversation (CONTRACT.md 6.4). */
function showExport() {
  const id = state.conversationId;
  ui.exportLink.hidden = !id;
  if (id) ui.exportLink.href = `/agents/conversations/${encodeURIComponent(id)}?format=markdown`;
}

function clearMessages() {
  ui.messages.replaceChildren(ui.welcome);
  ui.welcome.hidden = false;
}

function newConversation() {
  state.conversationId = null;
  history.replaceState(null, "", "/");
  showExport();
  if (state.editing) stopEditing();
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
  showExport();
  if (state.editing) stopEditing();
  clearMessages();
  const active = state.active && state.active.conversationId === id ? state.active : null;
  for (const message of data.messages) {
    if (message.role === "user") {
      showMessage(userMessageView(message.content));
    } else if (active && message.stream_id === active.streamId) {
      showMessage(active.view.root);
    } else if (message.status === "superseded") {
      continue; // replaced by a regenerated reply
    } else if (message.status === "streaming" && resume && !state.active) {
      const view = new ReplyView(replyHooks());
      view.root.view = view;
      showMessage(view.root);
      followReply(`/agents/streams/${message.stream_id}`, {
        streamId: message.stream_id, conversationId: id,
      }, view);
    } else {
      const view = ReplyView.fromHistory(message, replyHooks());
      view.root.view = view;
      showMessage(view.root);
    }
  }
  refreshActions();
  renderConversations();
}

// ---------------------------------------------------------------- composer and start-up

function autosize() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
}

function bindComposer() {
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
  $("#cancel-edit").addEventListener("click", () => {
    stopEditing();
    ui.input.value = "";
    autosize();
    ui.input.focus();
  });
  for (const button of document.querySelectorAll(".suggestion")) {
    button.addEventListener("click", () => sendMessage(button.textContent));
  }
}

/** Flash messages sit above the chat (never over it); they leave after a while. */
function dismissFlashes() {
  const flashes = $(".flashes");
  if (flashes) setTimeout(() => flashes.remove(), 6000);
}

/** The offline assistant's notice: a banner, until dismissed (remembered in this browser). */
function offlineBanner() {
  const banner = $("#offline-banner");
  if (!banner) return;
  const key = "offline-banner-dismissed";
  banner.hidden = localStorage.getItem(key) === "1";
  $("button", banner).addEventListener("click", () => {
    localStorage.setItem(key, "1");
    banner.hidden = true;
    ui.input.focus();
  });
}

async function start() {
  bindComposer();
  initSidebar({
    current: () => state.conversationId,
    open: (id) => openConversation(id),
    startNew: newConversation,
  });
  dismissFlashes();
  offlineBanner();
  watchConnection(() => state.active !== null);
  await loadConversations();
  const id = new URLSearchParams(window.location.search).get("c");
  if (id) await openConversation(id).catch(() => {});
  ui.form.dataset.ready = "true"; // for scripts driving the page: the composer now answers
}

start();
