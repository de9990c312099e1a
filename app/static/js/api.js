/* The one fetch wrapper of the pages: JSON in and out with the session's CSRF header.
 *
 * Every JSON error body is {"error": {"code", "message", "fields"?}}; a failed request throws an
 * ApiError carrying that message (to show as is) and the per-field messages. A 401 means the
 * session ended: the browser goes to the login page, which brings the user back here. A request
 * that cannot reach the server is also announced on `network` ("unreachable"), so the chat
 * page's connection indicator can say Offline.
 */

const CSRF = document.querySelector('meta[name="csrf-token"]').content;

/** Fires "unreachable" when a request fails before any answer arrives. */
export const network = new EventTarget();

export class ApiError extends Error {
  constructor(message, status = 0, fields = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
  }
}

/** `method` `path` with an optional JSON `body`; resolves to the JSON answer, or null for 204. */
export async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json", "X-CSRFToken": CSRF } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    network.dispatchEvent(new Event("unreachable"));
    throw new ApiError("The server cannot be reached. Check your connection.");
  }
  if (response.status === 401) {
    window.location.assign("/auth/login?next=" + encodeURIComponent(location.pathname));
    throw new ApiError("Your session has ended; please log in again.", 401);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    throw new ApiError(error.message || `Request failed (${response.status})`, response.status,
      error.fields || {});
  }
  return data;
}
