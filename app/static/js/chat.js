/* The chat page's entry: the composer, the messages pane and the one reply being followed.
 *
 * It wires the other modules together: a message is sent with stream.js and its reply drawn by
 * reply.js as events arrive; sidebar.js lists the conversations and asks this page to open one;
 * connection.js shows whether the stream is connected. Opening a conversation whose reply is
 * still streaming (after a reload) re-attaches to that stream.
 */
import { $ } from "./dom.js";
import { api } from "./api.js";
import { setConnection, watchConnection } from "./connection.js";
import { ReplyView, userMessageView } from "./reply.js";
import { closeSidebar, initSidebar, loadConversations, renderConversations } from "./sidebar.js";
import { cancelReply, follow, startReply } from "./stream.js";

const state = {
  conversationId: null,
  active: null, // the reply being streamed: {streamId, conversationId, view, close}
};

const ui = {
  messages: $("#messages"),
  welcome: $("#welcome"),
  form: $("#composer"),
  input: $("#message"),
  send: $("#send"),
  stop: $("#stop"),
};

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
  reply.close = follow(streamUrl, {
    start: scrolling((data) => adoptConversation(data.conversation_id)),
    thinking: scrolling(() => view.showThinking(!sawContent)),
    tool: scrolling((data) => view.tool(data)),
    content: scrolling((data) => {
      sawContent = true;
      view.append(data.chunk);
    }),
    done: scrolling((data) => {
      view.finish(data.status, data.metrics);
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
  showMessage(userMessageView(message));
  const view = new ReplyView();
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
  loadConversations();
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
      followReply(`/agents/streams/${message.stream_id}`, {
        streamId: message.stream_id, conversationId: id,
      }, view);
    } else {
      showMessage(ReplyView.fromHistory(message).root);
    }
  }
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
  bindComposer();
  initSidebar({
    current: () => state.conversationId,
    open: (id) => openConversation(id),
    startNew: newConversation,
  });
  dismissFlashes();
  watchConnection(() => state.active !== null);
  await loadConversations();
  const id = new URLSearchParams(window.location.search).get("c");
  if (id) await openConversation(id).catch(() => {});
  ui.form.dataset.ready = "true"; // for scripts driving the page: the composer now answers
}

start();
