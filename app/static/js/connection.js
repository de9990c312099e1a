/* The chat page's connection indicator: Connected, Reconnecting… or Offline.
 *
 * The page sets the state from its stream; the browser's own online/offline events and a
 * request that cannot reach the server (api.js `network`) override it.
 */
import { $ } from "./dom.js";
import { network } from "./api.js";

const TEXT = { connected: "Connected", reconnecting: "Reconnecting…", offline: "Offline" };

/** Show `state`, or Offline while the browser says it is offline. */
export function setConnection(state) {
  const root = $("#connection");
  const effective = navigator.onLine ? state : "offline";
  if (root.dataset.state === effective) return;
  root.dataset.state = effective;
  $(".connection-label", root).textContent = TEXT[effective];
}

/** Follow the browser's network state; `streaming()` says whether a reply is being followed. */
export function watchConnection(streaming) {
  window.addEventListener("offline", () => setConnection("offline"));
  window.addEventListener("online", () => setConnection(streaming() ? "reconnecting" : "connected"));
  network.addEventListener("unreachable", () => setConnection("offline"));
  setConnection("connected");
}
