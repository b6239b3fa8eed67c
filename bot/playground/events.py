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
        self._changed = asyncio.Condition()
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
        try:
            asyncio.get_running_loop().create_task(self._notify())
        except RuntimeError:
            pass  # recorded before the server's loop runs (e.g. default users); nobody can be waiting yet
        return event

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[PlaygroundEvent], bool], timeout: float, since: int = 0) -> PlaygroundEvent:
        """The first event from index `since` on that matches; earlier events count too, so a fast bot can't be missed."""
        position = since

        def scan() -> PlaygroundEvent | None:
            nonlocal position
            while position < len(self.events):
                event = self.events[position]
                position += 1
                if predicate(event):
                    return event
            return None

        async def wait() -> PlaygroundEvent:
            async with self._changed:
                while (found := scan()) is None:
                    await self._changed.wait()
                return found

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            kinds = ", ".join(e.kind for e in self.events[since:][-10:]) or "none"
            raise TimeoutError(f"no matching playground event within {timeout} s (latest events: {kinds})") from None
