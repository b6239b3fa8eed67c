"""Discord's REST rate limits: per-route buckets, the global limit, `X-RateLimit-*` headers and 429s.

Each bot request lands in a bucket keyed by its route and the route's major parameter (the channel, the
guild or the webhook), as on Discord. Every answer from a bucketed route carries `X-RateLimit-Limit`,
`-Remaining`, `-Reset`, `-Reset-After` and `-Bucket`; a request over the limit is answered 429 with
`retry_after` (and `X-RateLimit-Scope: user`), one over the global limit (requests per second across all
routes) with `"global": true` (and `X-RateLimit-Global`). discord.py reads exactly these to wait and retry.
Interaction callbacks and follow-ups are not bound by the global limit, as on Discord.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from aiohttp import web

from bot.playground import events as ev
from bot.playground.errors import discord_json

MAJOR_PARAMETERS = ("channel_id", "guild_id", "token")


@dataclass(frozen=True)
class RouteLimit:
    limit: int
    per: float  # seconds


# Discord's published or widely observed limits for the routes a bot hits most.
DISCORD_ROUTES: Mapping[tuple[str, str], RouteLimit] = MappingProxyType({
    ("POST", "/channels/{channel_id}/messages"): RouteLimit(5, 5.0),
    ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"): RouteLimit(1, 0.25),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"): RouteLimit(5, 1.0),
})  # fmt: skip


@dataclass(frozen=True)
class RateLimits:
    """`routes` maps (method, route template under /api/v10) to its limit; others get `default`.

    The default is Discord's global limit (50 requests per second) with a roomy 50-per-second bucket on every
    route, so headers and buckets are always there; `RateLimits.discord()` adds Discord's tight per-route
    limits (5 messages per 5 s per channel, one reaction per 0.25 s) for tests that want them."""

    global_per_second: int = 50
    default: RouteLimit = RouteLimit(50, 1.0)
    routes: Mapping[tuple[str, str], RouteLimit] = field(default_factory=dict)

    @classmethod
    def discord(cls) -> RateLimits:
        return cls(routes=DISCORD_ROUTES)

    def for_route(self, method: str, template: str) -> RouteLimit:
        return self.routes.get((method, template), self.default)


@dataclass
class Bucket:
    limit: RouteLimit
    name: str
    remaining: int = 0
    reset_at: float = 0.0  # monotonic

    def take(self, now: float) -> bool:
        if now >= self.reset_at:
            self.remaining = self.limit.limit
            self.reset_at = now + self.limit.per
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


class RateLimiter:
    def __init__(self, limits: RateLimits, log_: ev.EventLog) -> None:
        self.limits = limits
        self._log = log_
        self._buckets: dict[tuple[str, str, str], Bucket] = {}
        self._global_window = 0.0
        self._global_count = 0

    def _bucket(self, method: str, template: str, major: str) -> Bucket:
        key = (method, template, major)
        bucket = self._buckets.get(key)
        if bucket is None:
            # Discord's bucket hash names the route's bucket, shared by every major parameter.
            name = hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:16]
            bucket = self._buckets[key] = Bucket(self.limits.for_route(method, template), name)
        return bucket

    def _take_global(self, now: float) -> float | None:
        """None if a global slot is free, else seconds until the next one."""
        if now - self._global_window >= 1.0:
            self._global_window, self._global_count = now, 0
        if self._global_count >= self.limits.global_per_second:
            return self._global_window + 1.0 - now
        self._global_count += 1
        return None

    def middleware(self) -> Callable[[web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]], Awaitable[web.StreamResponse]]:
        @web.middleware
        async def rate_limited(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
            route = request.match_info.route.resource
            if route is None or not request.path.startswith("/api/"):
                return await handler(request)
            template = route.canonical.split("}", 1)[1] if route.canonical.startswith("/api/v{") else route.canonical
            if template.startswith("/gateway"):
                return await handler(request)
            now = time.monotonic()
            # Interaction callbacks and their webhooks are not bound by the bot's global limit.
            if not template.startswith(("/interactions/", "/webhooks/")):
                wait = self._take_global(now)
                if wait is not None:
                    return self._too_many(request, template, wait, global_=True)
            major = next((request.match_info[p] for p in MAJOR_PARAMETERS if p in request.match_info), "")
            bucket = self._bucket(request.method, template, major)
            if not bucket.take(now):
                return self._too_many(request, template, bucket.reset_at - now, bucket=bucket)
            response = await handler(request)
            if isinstance(response, web.Response):
                response.headers.update(self._headers(bucket, now))
            return response

        return rate_limited

    def _headers(self, bucket: Bucket, now: float) -> dict[str, str]:
        reset_after = max(0.0, bucket.reset_at - now)
        return {
            "X-RateLimit-Limit": str(bucket.limit.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket.name,
        }

    def _too_many(self, request: web.Request, template: str, wait: float, *, global_: bool = False, bucket: Bucket | None = None) -> web.Response:
        retry_after = round(max(wait, 0.001), 3)
        # Discord's own 429s come through its proxy (`Via`); discord.py takes a 429 without it for a Cloudflare ban.
        headers = {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "global" if global_ else "user", "Via": "1.1 google"}
        if global_:
            headers["X-RateLimit-Global"] = "true"
        elif bucket is not None:
            headers.update(self._headers(bucket, time.monotonic()))
        self._log.record(ev.RATE_LIMITED, method=request.method, route=template, retry_after=retry_after, global_=global_)
        response = discord_json({"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}, status=429)
        response.headers.update(headers)
        return response


__all__ = ["RateLimits", "RouteLimit", "RateLimiter", "DISCORD_ROUTES"]
