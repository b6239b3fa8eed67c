"""A log of everything that happens in the playground, which tests and the web page wait on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Event kinds recorded in the log.
MESSAGE_CREATE = "message_create"
MESSAGE_UPDATE = "message_update"
MESSAGE_DELETE = "message_delete"
REACTION_ADD = "reaction_add"
REACTION_REMOVE = "reaction_remove"
INTERACTION_CREATE = "interaction_create"
INTERACTION_CALLBACK = "interaction_callback"
INTERACTION_TIMEOUT = "interaction_timeout"
COMMANDS_SYNCED = "commands_synced"
GATEWAY_IDENTIFY = "gateway_identify"
GATEWAY_RESUME = "gateway_resume"
GATEWAY_DISCONNECT = "gateway_disconnect"
MEMBER_ADD = "member_add"
GUILD_CREATE = "guild_create"
THREAD_CREATE = "thread_create"
RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class PlaygroundEvent:
    """One recorded happening. `data` holds Discord-shaped payloads (message dicts, callbacks, ...)."""

    kind: str
    data: dict[str, Any]
    index: int
    at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> dict[str, Any] | None:
        return self.data.get("message")


Listener = Callable[[PlaygroundEvent], None]


class EventLog:
    def __init__(self) -> None:
        self.events: list[PlaygroundEvent] = []
        self._listeners: list[Listener] = []

    def __len__(self) -> int:
        return len(self.events)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` for every new event; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def record(self, kind: str, **data: Any) -> PlaygroundEvent:
        event = PlaygroundEvent(kind=kind, data=data, index=len(self.events))
        self.events.append(event)
        for listener in list(self._listeners):
            listener(event)
        return event

    async def wait_for(self, predicate: Callable[[PlaygroundEvent], bool], timeout: float, since: int = 0) -> PlaygroundEvent:
        """The first event from index `since` on that matches; earlier events count too, so a fast bot can't be missed."""
        for event in self.events[since:]:
            if predicate(event):
                return event
        found: asyncio.Future[PlaygroundEvent] = asyncio.get_running_loop().create_future()

        def check(event: PlaygroundEvent) -> None:
            if found.done():
                return
            try:
                matched = predicate(event)
            except Exception as error:  # a broken predicate fails the waiter, not the server
                found.set_exception(error)
                return
            if matched:
                found.set_result(event)

        unsubscribe = self.subscribe(check)
        try:
            return await asyncio.wait_for(found, timeout)
        except TimeoutError:
            kinds = ", ".join(e.kind for e in self.events[since:][-10:]) or "none"
            raise TimeoutError(f"no matching playground event within {timeout} s (latest events: {kinds})") from None
        finally:
            unsubscribe()
