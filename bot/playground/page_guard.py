"""Who may drive the page's API: only the playground's own page, loaded from the playground itself.

A page on another origin could otherwise post a text/plain form (no CORS preflight) or open the websocket and
act as any simulated user. Each API request must therefore:

- name a Host the playground answers to: an IP literal, `localhost`, or the host it was started on (a DNS
  name that resolves to loopback, as in DNS rebinding, is refused);
- carry an Origin equal to that Host (browsers always send Origin on POSTs and websocket handshakes, and
  scripts cannot forge it);
- carry the per-page token, which only a script running on the page can read from the page's HTML
  (the `X-Playground-Token` header; on the websocket, the `Sec-WebSocket-Protocol` offer `token.<token>`,
  the one header a browser lets a page set there);
- and, for POSTs, have a JSON body (`Content-Type: application/json`, which no cross-site form can send).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from aiohttp import web

TOKEN_HEADER = "X-Playground-Token"
TOKEN_META = "playground-token"
SOCKET_PROTOCOL = "tunesmith-playground"  # the subprotocol the websocket agrees on
SOCKET_TOKEN_PREFIX = "token."


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class PageGuard:
    """Checks one request against the page's rules; `refusal` is None when it may go ahead."""

    def __init__(self, bound_host: str) -> None:
        self.token = secrets.token_urlsafe(32)
        self._names = {"localhost", bound_host.lower()}

    def host_allowed(self, request: web.Request) -> bool:
        hostname = (urlsplit(f"//{request.host}").hostname or "").lower()
        return bool(hostname) and (hostname in self._names or _is_ip(hostname))

    def _origin_matches(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if not origin:
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower() and not parts.path

    def _token_matches(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    @staticmethod
    def socket_token(request: web.Request) -> str | None:
        offers = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        return next((p[len(SOCKET_TOKEN_PREFIX) :] for p in offers if p.startswith(SOCKET_TOKEN_PREFIX)), None)

    def page_refusal(self, request: web.Request) -> web.Response | None:
        """For the page itself: only under a Host the playground answers to."""
        if not self.host_allowed(request):
            return json_error(403, f"This playground does not answer to the host name {request.host!r}; open it by its IP address or localhost.")
        return None

    def api_refusal(self, request: web.Request, *, websocket: bool = False) -> web.Response | None:
        refused = self.page_refusal(request)
        if refused is not None:
            return refused
        if not self._origin_matches(request):
            return json_error(403, "Requests must come from the playground's own page (the Origin header is missing or names another site).")
        offered = self.socket_token(request) if websocket else request.headers.get(TOKEN_HEADER)
        if not self._token_matches(offered):
            return json_error(403, "The page token is missing or out of date; reload the playground page.")
        if request.method == "POST" and request.content_type != "application/json":
            return json_error(415, "The page's API accepts only JSON bodies (Content-Type: application/json).")
        return None


__all__ = ["PageGuard", "TOKEN_HEADER", "TOKEN_META", "SOCKET_PROTOCOL", "SOCKET_TOKEN_PREFIX", "json_error"]
