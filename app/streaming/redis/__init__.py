"""The Redis broker: the same interface as `MemoryBroker`, shared by every worker and host.

`RedisBroker` (broker.py) puts together the parts: the streams' keys and events (log.py), the
batching writer (writer.py), the readers' shared XREAD loop (fanout.py), process and stream
leases and reader counts (presence.py), and the cancel channel (cancel.py) for cancel requests
and approval answers.

Selected when `REDIS_URL` is set. Every key starts with `REDIS_KEY_PREFIX` (default `estate:`):

    s:<id>            hash: owner, meta (JSON), `seq` (last seq given), `done` (its seq), `created`
    s:<id>:events     Redis Stream of the events; entry id `<seq>-0`, fields n (name), d (JSON)
    s:<id>:lease      the producer's lease: renewed every second or so, expires after LEASE_TTL
    s:<id>:readers    hash: process id -> readers of this stream in that process
    s:<id>:lost       set (NX) by the one reader that closes a stream whose producer died
    s:<id>:requests   hash of the requests to its producer, also published (cancel.py), kept a
                      minute for its `watch`: `cancel` -> 1, `call:<call id>` -> 1 (approve) or 0
    active            set of the stream ids not done yet
    u:<owner>:active  the same, per owner (the per-user cap)
    node:<process>    a process's own lease, renewed by its heartbeat: readers of a killed
                      process stop counting when it expires
    node:<process>:wake  Redis Stream in every XREAD of that process's fan-out: an entry wakes
                      it for a stream it does not follow yet (a few entries, expires)
    clients           hash: process id -> readers in that process (/sse/health)
    cancel            pub/sub channel of cancel requests (data: the stream id)
    approval          pub/sub channel of approval answers (data: {"stream_id", "call_id",
                      "approve"} as JSON)

The events of a stream produced in this process are kept in this process's memory until its
`done`: readers here (usually its only reader, the POST that started the reply) follow them
there rather than each with its own XREAD. They reach Redis through one writer greenlet per
process (writer.py); `finish` waits until the stream's events are written.

Readers elsewhere wait in their process's fan-out (fanout.py): one greenlet per process issues
one XREAD BLOCK, on a connection of its own, over every stream a reader there waits on, and hands
out the events. Every READ_SLICE it looks at the producer's lease of the streams that stayed
quiet, and the first process to find it expired on a stream that is not done closes the stream
through the `on_lost` handler. Streams nobody reads are closed the same way by `sweep_lost`,
which the producers' housekeeper (app/chat/runner.py) calls every few seconds in every process.

Every Redis call goes through redis-py's sockets, which gevent's monkey-patching makes
cooperative: a blocked XREAD, or a slow Redis, suspends only its own greenlet. A process holds
one connection blocked in XREAD (the fan-out's), one for each of its two pub/sub listeners, and
pooled connections for its short commands, up to `REDIS_MAX_CONNECTIONS` (2500) when many run
at once; Redis's `maxclients` (10000 by default) bounds the total over every process.
"""

from app.streaming.redis.broker import RedisBroker

__all__ = ["RedisBroker"]
