/* The chat page's sidebar: the conversations list with open, rename and delete, and its toggle.
 *
 * The search box lists the conversations whose title or messages match (`?q=`, CONTRACT.md
 * 6.4) as the user types. On a phone the sidebar is a drawer: the ☰ button opens it, Escape or a click on the chat
 * closes it. The page (chat.js) owns which conversation is shown; it hands its hooks to
 * `initSidebar`: `current()` the shown id, `open(id)` show one, `startNew()` a blank one.
 */
import { $, el } from "./dom.js";
import { api } from "./api.js";

let page;
let conversations = [];
const ui = {};

function conversationItem(conversation) {
  const current = conversation.id === page.current();
  const open = el("button", {
    type: "button", class: "conversation-open", "aria-current": current ? "page" : null,
    title: conversation.title,
  }, conversation.title);
  open.addEventListener("click", () => {
    closeSidebar();
    page.open(conversation.id);
  });
  const rename = el("button", { type: "button", class: "icon", "aria-label": `Rename “${conversation.title}”`, title: "Rename" }, "✎");
  rename.addEventListener("click", () => startRename(item, conversation));
  const remove = el("button", { type: "button", class: "icon", "aria-label": `Delete “${conversation.title}”`, title: "Delete" }, "✕");
  remove.addEventListener("click", () => deleteConversation(conversation));
  const item = el("li", { class: current ? "conversation current" : "conversation", "data-id": conversation.id },
    open, el("span", { class: "conversation-actions" }, rename, remove));
  return item;
}

/** Redraw the list and the page title from the last loaded conversations. */
export function renderConversations() {
  ui.list.replaceChildren(...conversations.map(conversationItem));
  ui.empty.hidden = conversations.length > 0;
  const current = conversations.find((c) => c.id === page.current());
  if (current || !page.current()) ui.title.textContent = current ? current.title : "New conversation";
}

export async function loadConversations() {
  const query = ui.search.value.trim();
  const path = query ? `/agents/conversations?q=${encodeURIComponent(query)}` : "/agents/conversations";
  try {
    const found = (await api("GET", path)).conversations;
    if (query !== ui.search.value.trim()) return; // the user typed on meanwhile
    conversations = found;
    ui.empty.textContent = query ? "No conversation matches." : "No conversations yet.";
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
  if (conversation.id === page.current()) page.startNew();
  await loadConversations();
}

export function closeSidebar() {
  ui.layout.dataset.sidebar = "closed";
  ui.toggle.setAttribute("aria-expanded", "false");
}

function toggleSidebar() {
  const open = ui.layout.dataset.sidebar !== "open";
  ui.layout.dataset.sidebar = open ? "open" : "closed";
  ui.toggle.setAttribute("aria-expanded", String(open));
  if (open) ui.newButton.focus();
}

/** Find the sidebar's elements and bind its buttons and keys; `hooks` are the page's. */
export function initSidebar(hooks) {
  page = hooks;
  Object.assign(ui, {
    layout: $("#chat-layout"),
    list: $("#conversation-list"),
    empty: $("#conversation-empty"),
    title: $("#conversation-title"),
    toggle: $("#sidebar-toggle"),
    newButton: $("#new-conversation"),
    search: $("#conversation-search"),
  });
  let typing = null;
  ui.search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(loadConversations, 200);
  });
  ui.toggle.addEventListener("click", toggleSidebar);
  ui.newButton.addEventListener("click", () => page.startNew());
  $(".chat").addEventListener("click", (event) => {
    if (ui.layout.dataset.sidebar === "open" && !ui.toggle.contains(event.target)) closeSidebar();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && ui.layout.dataset.sidebar === "open") {
      closeSidebar();
      ui.toggle.focus();
    }
  });
}
