"""Pointing an unmodified discord.py at the playground instead of discord.com."""

from __future__ import annotations

import yarl
from discord.asset import Asset
from discord.gateway import DiscordWebSocket
from discord.http import Route


def configure_discord(url: str) -> None:
    """Send discord.py's REST, webhook and gateway traffic, and its CDN links, to the playground at `url`.

    Three class attributes hold discord.com: `Route.BASE` (REST and interaction webhooks, which are
    Routes too), `DiscordWebSocket.DEFAULT_GATEWAY` (the gateway a Client connects to first and after
    an INVALID_SESSION) and `Asset.BASE` (avatars and other CDN assets). This affects every client in
    the process; call it before `bot.start()`.
    """
    base = url.rstrip("/")
    Route.BASE = f"{base}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws", 1) + "/gateway")
    Asset.BASE = f"{base}/cdn"
