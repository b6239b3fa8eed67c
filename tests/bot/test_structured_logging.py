from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logging import REDACTED, SECRETS, configure_logging

TOKEN = "MTA5.secret-bot-token.Zx9"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)
    SECRETS.clear()


def test_console_lines_carry_the_fields_as_key_value(stream: io.StringIO) -> None:
    configure_logging("INFO", "console", stream=stream)
    logging.getLogger("bot.test").info("Plugin loaded", extra={"plugin": "hello", "reason": "two words"})
    line = stream.getvalue().strip()
    assert "INFO" in line and "bot.test" in line and "Plugin loaded" in line
    assert line.endswith('plugin=hello reason="two words"')


def test_json_lines_are_one_object_each(stream: io.StringIO) -> None:
    configure_logging("DEBUG", "json", stream=stream)
    log = logging.getLogger("bot.test")
    log.debug("first", extra={"count": 3})
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("second")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert first["msg"] == "first" and first["count"] == 3 and first["level"] == "DEBUG" and first["ts"].endswith("Z")
    assert second["level"] == "ERROR" and "ValueError: bad" in second["exc"]


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_the_token_is_redacted_wherever_it_appears(stream: io.StringIO, log_format: str) -> None:
    configure_logging("INFO", log_format, secrets=[TOKEN], stream=stream)
    log = logging.getLogger("bot.test")
    log.info(f"token is {TOKEN}")
    log.info("token is %s", TOKEN)
    log.info("connecting", extra={"url": f"https://x/?token={TOKEN}"})
    try:
        raise RuntimeError(f"401 for token {TOKEN}")
    except RuntimeError:
        log.exception("login failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(REDACTED) >= 4


def test_interaction_tokens_in_urls_are_redacted(stream: io.StringIO) -> None:
    configure_logging("DEBUG", "console", stream=stream)
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
    logging.getLogger("discord.http").debug(f"POST https://discord.com/api/v10/interactions/123/{token}/callback has returned 204")
    logging.getLogger("discord.http").debug(f"PATCH https://discord.com/api/v10/webhooks/456/{token}/messages/@original")
    output = stream.getvalue()
    assert token not in output
    assert "/interactions/123/[REDACTED]/callback" in output and "/webhooks/456/[REDACTED]/messages/@original" in output


def test_configuring_twice_does_not_double_lines_and_levels_filter(stream: io.StringIO) -> None:
    configure_logging("INFO", "console", stream=io.StringIO())
    configure_logging("WARNING", "console", stream=stream)
    log = logging.getLogger("bot.test")
    log.info("hidden")
    log.warning("shown")
    assert stream.getvalue().count("shown") == 1 and "hidden" not in stream.getvalue()
