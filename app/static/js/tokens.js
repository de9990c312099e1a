/* The API tokens page's entry: create (shown once), list, revoke, and short-lived MCP tokens.
 *
 * Every value from the server is put in the page with textContent, never as markup.
 */
import { $, el } from "./dom.js";
import { api } from "./api.js";

function when(iso) {
  if (!iso) return "Never";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Copy the text of the element named by the button's data-copy, with a fallback for http. */
async function copy(button) {
  const text = document.getElementById(button.dataset.copy).textContent;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(document.getElementById(button.dataset.copy));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
}

// ---------------------------------------------------------------- API tokens

function tokenRow(token) {
  const revoke = el("button", {
    type: "button", class: "danger small", "aria-label": `Revoke token “${token.name}”`,
  }, "Revoke");
  revoke.addEventListener("click", () => revokeToken(token));
  const cells = [token.name, when(token.created_at), when(token.expires_at), when(token.last_used_at)];
  return el("tr", { "data-id": token.id },
    ...cells.map((text) => el("td", { text })), el("td", {}, revoke));
}

async function loadTokens() {
  const { tokens } = await api("GET", "/auth/tokens");
  $("#token-table tbody").replaceChildren(...tokens.map(tokenRow));
  $("#token-table").hidden = tokens.length === 0;
  $("#token-empty").hidden = tokens.length > 0;
}

function curlExample(token) {
  return [
    `curl -N ${window.location.origin}/agents/chat-stream \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    "  -H 'Content-Type: application/json' \\",
    `  -d '{"message": "Find me homes in Portland"}'`,
  ].join("\n");
}

async function createToken(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#token-form-error");
  error.textContent = "";
  const name = form.elements.name.value.trim();
  if (!name) {
    error.textContent = "Give the token a name, so you know later what uses it.";
    form.elements.name.focus();
    return;
  }
  try {
    const created = await api("POST", "/auth/tokens", {
      name, expires_in_days: Number(form.elements.expires_in_days.value),
    });
    $("#new-token").textContent = created.token;
    $("#curl-example").textContent = curlExample(created.token);
    $("#token-created").hidden = false;
    form.reset();
    await loadTokens();
    document.querySelector('[data-copy="new-token"]').focus();
  } catch (failure) {
    error.textContent = failure.fields.name ? `Name ${failure.fields.name}.` : failure.message;
  }
}

async function revokeToken(token) {
  if (!window.confirm(`Revoke “${token.name}”? Scripts using it will stop working.`)) return;
  try {
    await api("DELETE", `/auth/tokens/${token.id}`);
  } catch (failure) {
    $("#token-form-error").textContent = failure.message;
  }
  await loadTokens();
  $("#token-name").focus();
}

// ---------------------------------------------------------------- MCP tokens

function mcpConfig(service, url, token) {
  const servers = {};
  servers[`estate-${service}`] = { url, headers: { Authorization: `Bearer ${token}` } };
  return JSON.stringify({ mcpServers: servers }, null, 2);
}

async function mcpToken(button) {
  const service = button.dataset.service;
  $("#mcp-error").textContent = "";
  try {
    const data = await api("POST", "/auth/mcp-token", { service });
    const expires = new Date(Date.now() + data.expires_in * 1000);
    $("#mcp-url").textContent = data.mcp_url;
    $("#mcp-expiry").textContent =
      `${expires.toLocaleTimeString(undefined, { timeStyle: "short" })} (in ${Math.round(data.expires_in / 60)} minutes)`;
    $("#mcp-token").textContent = data.access_token;
    $("#mcp-config").textContent = mcpConfig(service, data.mcp_url, data.access_token);
    $("#mcp-result").hidden = false;
    $("#mcp-result").dataset.service = service;
  } catch (failure) {
    $("#mcp-error").textContent = failure.message;
  }
}

$("#token-form").addEventListener("submit", createToken);
for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", () => copy(button));
}
for (const button of document.querySelectorAll("[data-service]")) {
  button.addEventListener("click", () => mcpToken(button));
}
loadTokens().catch((failure) => { $("#token-form-error").textContent = failure.message; });
