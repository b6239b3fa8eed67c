"""Structured logging for the bot: `key=value` lines for people, JSON lines for machines, secrets never shown.

Log with fields rather than formatted strings so both formats carry them::

    log.info("Plugin loaded", extra={"plugin": "hello", "version": "1.0.0"})

Every handler installed here redacts the registered secrets (the Discord token, the playground's bot token)
from the final text, tracebacks included, so a token that ends up in an exception message or a URL is still
never written out.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[REDACTED]"

# Interaction and webhook tokens sit in REST paths (discord.py logs those at DEBUG): anyone holding one can
# answer as the bot for 15 minutes, so they are redacted like the bot token.
_URL_TOKENS = re.compile(r"(/(?:interactions|webhooks)/\d+/)[A-Za-z0-9_.\-]{20,}")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a structured field.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

# Loggers that are chatty at INFO and say nothing an operator needs (the in-process playground's access log).
_QUIET_LOGGERS = {"aiohttp.access": logging.WARNING}


class SecretRegistry:
    """The strings no log line may contain. Thread-safe: discord.py logs from its own threads too."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        # Very short strings would redact ordinary words; real tokens are long.
        if secret and len(secret) >= 8:
            with self._lock:
                self._secrets.add(secret)

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _URL_TOKENS.sub(rf"\1{REDACTED}", text)


SECRETS = SecretRegistry()


def register_secret(secret: str | None) -> None:
    """Never log `secret` from now on (in this process)."""
    SECRETS.add(secret)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS and not key.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class KeyValueFormatter(logging.Formatter):
    """`2026-11-26T15:40:00.123Z INFO  bot.plugins  Plugin loaded plugin=hello version=1.0.0`"""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), f"{record.levelname:<7}", record.name, record.getMessage()]
        parts += [f"{key}={_kv_value(value)}" for key, value in _fields(record).items()]
        text = "  ".join(parts[:4]) + ("  " + " ".join(parts[4:]) if len(parts) > 4 else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return SECRETS.redact(text)


def _kv_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c in '"=' for c in text)) else text


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, the record's fields, and exc when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return SECRETS.redact(json.dumps(entry, default=str, ensure_ascii=False))


class RedactingFilter(logging.Filter):
    """Redacts secrets from a record's message, for handlers whose formatter is not ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRETS.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str = "INFO", log_format: str = "console", *, secrets: Iterable[str | None] = (), stream: TextIO | None = None) -> logging.Handler:
    """Send all logging to `stream` (stderr by default) in the chosen format; returns the handler installed.

    Replaces the handlers a previous call installed, so calling it twice does not double every line.
    """
    for secret in secrets:
        register_secret(secret)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    handler.addFilter(RedactingFilter())
    handler._tunesmith = True  # type: ignore[attr-defined]  # marks handlers this function owns

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_tunesmith", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet_level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet_level, root.level))
    return handler
