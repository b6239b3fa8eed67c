"""A Discord-compatible server (REST v10 + Gateway v10 + a web page) for running the bot without Discord.

discord.py connects to it unmodified once `configure_discord(pg.url)` has pointed its base URLs here.
See docs/PLAYGROUND.md.
"""

from bot.playground.discord_config import configure_discord
from bot.playground.errors import APIError, InteractionFailed, PlaygroundError
from bot.playground.events import PlaygroundEvent
from bot.playground.guild import PlaygroundUser
from bot.playground.interactions import InteractionHandle
from bot.playground.server import Playground

__all__ = [
    "APIError",
    "InteractionFailed",
    "InteractionHandle",
    "Playground",
    "PlaygroundError",
    "PlaygroundEvent",
    "PlaygroundUser",
    "configure_discord",
]
