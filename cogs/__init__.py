"""Tunesmith's built-in plugins: one cog module per concern.

Each public module here is a plugin named after the module. It exports a `MANIFEST`
(bot.plugins.PluginManifest) and `async def setup(bot)`, and is loaded when its name is in the
`enabled_cogs` setting or on `/plugins load <name>`. Cogs reach storage and the engine only through
`bot.services`; they never import torch. See docs/PLUGINS.md.
"""
