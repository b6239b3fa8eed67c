"""Gateway v10 over a websocket: HELLO, IDENTIFY/READY, heartbeats, dispatch with sequence numbers,
RESUME with replay of missed events, and INVALID_SESSION when a session can't be resumed.

One bot session at a time receives dispatches (the latest to IDENTIFY). While its socket is down
the session keeps buffering events, so a RESUME within `resume_window` seconds replays them just
as Discord does; after that, or after `drop(resumable=False)`, the bot must IDENTIFY afresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.playground import events as ev

log = logging.getLogger(__name__)

# Opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# Close codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-close-event-codes).
CLOSE_RECONNECT = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_SESSION_TIMED_OUT = 4009
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011
CLOSE_INVALID_API_VERSION = 4012

# Which intent bit an event needs; events not listed are always sent.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
EVENT_INTENTS = {
    "GUILD_CREATE": INTENT_GUILDS,
    "GUILD_UPDATE": INTENT_GUILDS,
    "CHANNEL_CREATE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS,
    "GUILD_MEMBER_ADD": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": INTENT_GUILD_MEMBERS,
    "MESSAGE_CREATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_UPDATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE": INTENT_GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": INTENT_GUILD_MESSAGE_REACTIONS,
}
REPLAY_BUFFER = 2000


class GatewayError(RuntimeError):
    """Raised by the Python API when something needs a connected bot and none is."""


@dataclass
class Connection:
    """One websocket; frames go out through a queue so dispatch order is send order."""

    socket: web.WebSocketResponse
    compressor: Any = None  # zlib compressobj for compress=zlib-stream
    outgoing: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def send(self, frame: dict[str, Any]) -> None:
        self.outgoing.put_nowait(frame)

    async def write_loop(self) -> None:
        while (frame := await self.outgoing.get()) is not None:
            text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
            try:
                if self.compressor is not None:
                    await self.socket.send_bytes(self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH))
                else:
                    await self.socket.send_str(text)
            except (ConnectionError, RuntimeError):
                return  # socket closed under us; the session keeps buffering for a resume

    async def close(self, code: int, reason: str = "") -> None:
        self.outgoing.put_nowait(None)
        await self.socket.close(code=code, message=reason.encode())


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    connection: Connection | None = None
    disconnected_at: float | None = None

    def wants(self, event: str, intent: int | None = None) -> bool:
        needed = EVENT_INTENTS.get(event) if intent is None else intent
        return needed is None or bool(self.intents & needed)

    def handles_guild(self, guild_id: int) -> bool:
        """Whether this session's shard receives the guild's events: (guild_id >> 22) % num_shards, as on Discord."""
        if not self.shard:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id

    @property
    def shard_key(self) -> tuple[int, int] | None:
        """Which shard this session is (None: an unsharded bot): a new IDENTIFY replaces the session of its own shard."""
        return (int(self.shard[0]), int(self.shard[1])) if self.shard else None

    def handles_dms(self) -> bool:
        """DMs (events with no guild) go to shard 0, as on Discord."""
        return not self.shard or self.shard[0] == 0

    def can_resume_from(self, seq: int, resume_window: float) -> bool:
        if self.disconnected_at is not None and time.monotonic() - self.disconnected_at > resume_window:
            return False
        oldest = self.buffer[0]["s"] if self.buffer else self.seq + 1
        return oldest - 1 <= seq <= self.seq


# The playground supplies these: what to send after IDENTIFY, and a member chunk for op 8.
IdentifyPayloads = Callable[[GatewaySession], list[tuple[str, dict[str, Any]]]]
# Why an IDENTIFY must be refused (close code and reason), or None: e.g. a shard holding too many guilds.
IdentifyGuard = Callable[[GatewaySession], tuple[int, str] | None]
MembersChunk = Callable[[GatewaySession, dict[str, Any]], dict[str, Any]]


class Gateway:
    def __init__(
        self,
        *,
        token: Callable[[], str],
        log_: ev.EventLog,
        identify_payloads: IdentifyPayloads,
        members_chunk: MembersChunk,
        heartbeat_interval: float,
        resume_window: float,
        identify_guard: IdentifyGuard | None = None,
    ) -> None:
        self._token = token
        self._identify_guard = identify_guard
        self._log = log_
        self._identify_payloads = identify_payloads
        self._members_chunk = members_chunk
        self.heartbeat_interval = heartbeat_interval
        self.resume_window = resume_window
        self._sessions: dict[str, GatewaySession] = {}
        # The live session of each shard (one key, None, for an unsharded bot): several shards, in one bot
        # process or in several, are connected at once and each gets its own guilds' events.
        self._by_shard: dict[tuple[int, int] | None, GatewaySession] = {}
        self.current: GatewaySession | None = None  # the most recently identified or resumed session
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self._by_shard.values())

    @property
    def shard_sessions(self) -> dict[tuple[int, int] | None, GatewaySession]:
        """The live session of each shard."""
        return dict(self._by_shard)

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        strip_content: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        intent: int | None = None,
        guild_id: int | None = None,
        session: GatewaySession | None = None,
    ) -> bool:
        """Send a DISPATCH to the bot's session (buffered while it is disconnected). False if no session.
        `intent` overrides the event's usual intent (DM events need the DIRECT_* ones); an event of
        `guild_id` goes only to the shard that holds that guild, one without a guild to shard 0; `session`
        sends it to that session only (READY and what follows an IDENTIFY)."""
        if session is not None:
            targets = [session]
        elif guild_id is not None:
            targets = [s for s in self._by_shard.values() if s.handles_guild(guild_id)]
        else:
            targets = [s for s in self._by_shard.values() if s.handles_dms()]
        for target in targets:
            if not target.wants(event, intent):
                continue
            payload = strip_content(data) if strip_content is not None and not target.intents & INTENT_MESSAGE_CONTENT else data
            target.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": target.seq, "d": payload}
            target.buffer.append(frame)
            if target.connection is not None:
                target.connection.send(frame)
        return bool(self._by_shard)

    async def drop(self, *, resumable: bool = True) -> None:
        """Close the bot's socket as a network failure would; without `resumable` the session is forgotten."""
        session = self.current
        if session is None or session.connection is None:
            raise GatewayError("no bot is connected to the playground gateway")
        if not resumable:
            self._sessions.pop(session.session_id, None)
        self._connected.clear()
        await session.connection.close(CLOSE_RECONNECT, "dropped by the playground")

    async def close_all(self) -> None:
        for session in list(self._sessions.values()):
            if session.connection is not None:
                await session.connection.close(1001, "playground stopping")
        for task in list(self._tasks):
            task.cancel()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        compress = request.query.get("compress")
        connection = Connection(socket, zlib.compressobj() if compress == "zlib-stream" else None)
        writer = asyncio.create_task(connection.write_loop())
        self._tasks.add(writer)
        writer.add_done_callback(self._tasks.discard)
        if request.query.get("v", "10") not in ("9", "10"):
            await connection.close(CLOSE_INVALID_API_VERSION, "Invalid API version")
            return socket
        if request.query.get("encoding", "json") != "json":
            await connection.close(CLOSE_DECODE_ERROR, "Only encoding=json is supported")
            return socket
        connection.send({"op": HELLO, "d": {"heartbeat_interval": int(self.heartbeat_interval * 1000)}, "s": None, "t": None})
        session: GatewaySession | None = None
        try:
            session = await self._serve(connection)
        finally:
            if session is not None and session.connection is connection:
                session.connection = None
                session.disconnected_at = time.monotonic()
                if not self.connected:
                    self._connected.clear()
                self._log.record(ev.GATEWAY_DISCONNECT, session_id=session.session_id, close_code=socket.close_code)
                log.debug("gateway session %s disconnected (close code %s)", session.session_id, socket.close_code)
            connection.outgoing.put_nowait(None)
        return socket

    async def _serve(self, connection: Connection) -> GatewaySession | None:
        session: GatewaySession | None = None
        # Discord closes a connection that misses heartbeats; allow generous slack for a busy test machine.
        idle_limit = self.heartbeat_interval * 2 + 5
        while True:
            try:
                message = await connection.socket.receive(timeout=idle_limit)
            except TimeoutError:
                await connection.close(CLOSE_SESSION_TIMED_OUT, "Session timed out")
                return session
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.BINARY:
                    await connection.close(CLOSE_DECODE_ERROR, "Decode error")
                return session
            try:
                frame = json.loads(message.data)
                op, data = frame["op"], frame.get("d")
            except (ValueError, KeyError, TypeError):
                await connection.close(CLOSE_DECODE_ERROR, "Decode error")
                return session
            if op == HEARTBEAT:
                connection.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op == IDENTIFY:
                if session is not None:
                    await connection.close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated")
                    return session
                session = await self._identify(connection, data or {})
                if session is None:
                    return None
            elif op == RESUME:
                if session is not None:
                    await connection.close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated")
                    return session
                session = await self._resume(connection, data or {})
                if session is None and connection.socket.closed:
                    return None
            elif session is None:
                await connection.close(CLOSE_NOT_AUTHENTICATED, "Not authenticated")
                return None
            elif op == REQUEST_GUILD_MEMBERS:
                self.dispatch("GUILD_MEMBERS_CHUNK", self._members_chunk(session, data or {}), session=session)
            elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
                pass  # accepted; the playground has no presence or voice
            else:
                await connection.close(CLOSE_UNKNOWN_OPCODE, "Unknown opcode")
                return session

    def _token_ok(self, token: Any) -> bool:
        return str(token or "").removeprefix("Bot ") == self._token()

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> GatewaySession | None:
        if not self._token_ok(data.get("token")):
            await connection.close(CLOSE_AUTHENTICATION_FAILED, "Authentication failed")
            return None
        session = GatewaySession(session_id=secrets.token_hex(16), intents=int(data.get("intents", 0)), shard=data.get("shard"))
        refusal = self._identify_guard(session) if self._identify_guard is not None else None
        if refusal is not None:
            await connection.close(*refusal)
            return None
        session.connection = connection
        old = self._by_shard.get(session.shard_key)
        if old is not None and old.connection is not None:
            # A fresh IDENTIFY from the same bot (for the same shard) replaces its old session.
            await old.connection.close(CLOSE_RECONNECT, "Superseded by a new session")
        self._sessions[session.session_id] = session
        self._by_shard[session.shard_key] = session
        self.current = session
        self._log.record(ev.GATEWAY_IDENTIFY, session_id=session.session_id, intents=session.intents)
        log.debug("gateway session %s identified (intents %d)", session.session_id, session.intents)
        for event, payload in self._identify_payloads(session):
            self.dispatch(event, payload, session=session)
        self._connected.set()
        return session

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> GatewaySession | None:
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if not self._token_ok(data.get("token")):
            await connection.close(CLOSE_AUTHENTICATION_FAILED, "Authentication failed")
            return None
        if session is None or not isinstance(seq, int) or not session.can_resume_from(seq, self.resume_window):
            self._sessions.pop(str(data.get("session_id")), None)
            connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return None
        if session.connection is not None:
            await session.connection.close(CLOSE_RECONNECT, "Session resumed elsewhere")
        session.connection = connection
        session.disconnected_at = None
        missed = [frame for frame in session.buffer if frame["s"] > seq]
        for frame in missed:
            connection.send(frame)
        self.current = session
        self._by_shard[session.shard_key] = session
        self._log.record(ev.GATEWAY_RESUME, session_id=session.session_id, replayed=len(missed))
        log.debug("gateway session %s resumed, %d events replayed", session.session_id, len(missed))
        self.dispatch("RESUMED", {"_trace": ["playground"]}, session=session)
        self._connected.set()
        return session
