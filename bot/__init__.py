"""The bot: the discord.py client and its command tree, the plugin manager that loads the cogs, the one
settings object, the CLI (`tunesmith`), the services the cogs share (engine, storage, publishing of tracks),
and the Discord-compatible playground that runs the bot without Discord. Cogs live in cogs/; they reach the
engine and storage only through what this package hands them.
"""
