"""What the playground's own page sends with every API call: its Origin and the token from its HTML."""

from __future__ import annotations

import re

TOKEN_PATTERN = re.compile(r'<meta name="playground-token" content="([^"]+)">')


def page_token(html: str) -> str:
    match = TOKEN_PATTERN.search(html)
    assert match is not None, "the page carries no token"
    return match.group(1)


def page_headers(origin: str, html: str) -> dict[str, str]:
    """Headers of an API call made by the page served at `origin` (its HTML given)."""
    return {"Origin": origin, "X-Playground-Token": page_token(html)}
