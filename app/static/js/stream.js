/* A reply on the wire: start it, follow its events with EventSource, cancel it.
 *
 * EventSource reconnects by itself and sends Last-Event-ID, so the server resumes after the last
 * event the page saw. Event ids are "<stream>:<seq>"; an event whose seq was already seen (a
 * proxy's repeat, a replay) is dropped here, so nothing is shown twice. The stream is closed on
 * `done`, so the browser does not reconnect after the end. When the server refuses to resume
 * (204: the stream expired or is unknown) the browser closes the EventSource: that is `lost`.
 */
import { api } from "./api.js";

const EVENTS = ["start", "thinking", "tool", "approval", "content", "done"];

const sequenceOf = (eventId) => Number(String(eventId || "").split(":").pop()) || 0;

/** POST the user's message; resolves to {stream_id, stream_url, conversation_id}. */
export function startReply(message, conversationId) {
  return api("POST", "/agents/streams", { message, conversation_id: conversationId || undefined });
}

/** Regenerate the conversation's last reply, after editing the last message if `message`. */
export function regenerateReply(conversationId, message) {
  const body = message === undefined ? {} : { message };
  return api("POST", `/agents/conversations/${encodeURIComponent(conversationId)}/regenerate`, body);
}

/** Approve or decline a tool call waiting for consent (CONTRACT.md 6.3). */
export function answerApproval(streamId, callId, approve) {
  return api("POST", `/agents/streams/${streamId}/approvals/${encodeURIComponent(callId)}`, { approve });
}

/** Ask the server to stop the reply; the stream then ends with `done` (status cancelled). */
export function cancelReply(streamId) {
  return api("POST", `/agents/streams/${streamId}/cancel`);
}

/**
 * Follow the stream at `url`. `on` has a handler for each of EVENTS (given the event's data),
 * `error` (a reported error's data), `lost`, `reconnecting` and `open`. Returns `close`.
 */
export function follow(url, on) {
  const source = new EventSource(url);
  let lastSeq = 0;
  const fresh = (event) => {
    const seq = sequenceOf(event.lastEventId);
    if (seq && seq <= lastSeq) return false;
    if (seq) lastSeq = seq;
    return true;
  };
  for (const name of EVENTS) {
    source.addEventListener(name, (event) => {
      if (!fresh(event)) return;
      if (name === "done") source.close();
      on[name](JSON.parse(event.data));
    });
  }
  source.addEventListener("error", (event) => {
    if (event instanceof MessageEvent && event.data) {
      if (fresh(event)) on.error(JSON.parse(event.data));
    } else if (source.readyState === EventSource.CLOSED) {
      on.lost();
    } else {
      on.reconnecting();
    }
  });
  source.addEventListener("open", () => on.open());
  return () => source.close();
}
