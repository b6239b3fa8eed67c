"""Errors the playground answers with, shaped exactly like Discord's JSON error bodies.

Discord's REST errors are `{"code": <int>, "message": <str>}` plus, for form validation
(code 50035), a nested `errors` object whose leaves are `{"_errors": [{"code", "message"}]}`.
discord.py turns these into `discord.HTTPException` with `.status`, `.code` and `.text`.
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Discord JSON error codes the playground uses.
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_EMOJI = 10014
UNKNOWN_APPLICATION_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
UNKNOWN_GUILD = 10004
UNKNOWN_USER = 10013
UNKNOWN_MEMBER = 10007
ENTITY_TOO_LARGE = 40005
ALREADY_ACKNOWLEDGED = 40060
CANNOT_EDIT_OTHERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
INVALID_WEBHOOK_TOKEN = 50027
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
INVALID_JSON = 50109


def discord_json(data: Any, status: int = 200) -> web.Response:
    """A JSON response whose Content-Type is exactly `application/json`: discord.py compares the
    header verbatim and treats anything else (aiohttp adds `; charset=utf-8`) as plain text."""
    body = _json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


class PlaygroundError(ValueError):
    """A mistake in how the Python API was called (unknown command, missing option, ...)."""


class InteractionFailed(TimeoutError):
    """The bot did not answer an interaction the way the caller waited for."""


@dataclass
class APIError(Exception):
    """An HTTP error response in Discord's format."""

    status: int
    code: int
    message: str
    errors: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.message} (error code: {self.code})"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body

    def to_response(self) -> web.Response:
        return discord_json(self.body(), self.status)


@dataclass
class FormErrors:
    """Collects per-field validation errors into Discord's nested `errors` object."""

    tree: dict[str, Any] = field(default_factory=dict)

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.tree)

    def raise_if_any(self) -> None:
        if self.tree:
            raise invalid_form_body(self.tree)


def invalid_form_body(errors: dict[str, Any]) -> APIError:
    return APIError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def unknown_channel() -> APIError:
    return APIError(404, UNKNOWN_CHANNEL, "Unknown Channel")


def unknown_message() -> APIError:
    return APIError(404, UNKNOWN_MESSAGE, "Unknown Message")


def unknown_webhook() -> APIError:
    return APIError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")


def unknown_emoji() -> APIError:
    return APIError(400, UNKNOWN_EMOJI, "Unknown Emoji")


def unknown_interaction() -> APIError:
    return APIError(404, UNKNOWN_INTERACTION, "Unknown interaction")


def already_acknowledged() -> APIError:
    return APIError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")


def invalid_webhook_token() -> APIError:
    return APIError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")


def entity_too_large() -> APIError:
    return APIError(413, ENTITY_TOO_LARGE, "Request entity too large")


def empty_message() -> APIError:
    return APIError(400, EMPTY_MESSAGE, "Cannot send an empty message")


def invalid_json() -> APIError:
    return APIError(400, INVALID_JSON, "The request body contains invalid JSON.")


def unauthorized() -> APIError:
    return APIError(401, 0, "401: Unauthorized")


def not_found() -> APIError:
    return APIError(404, 0, "404: Not Found")


def method_not_allowed() -> APIError:
    return APIError(405, 0, "405: Method Not Allowed")


def missing_permissions() -> APIError:
    return APIError(403, MISSING_PERMISSIONS, "Missing Permissions")


def cannot_edit_others_message() -> APIError:
    return APIError(403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user")
