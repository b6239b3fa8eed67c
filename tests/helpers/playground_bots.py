"""Small discord.py bots used by the playground tests: real `commands.Bot`s with app-command trees."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands


class ModalForm(discord.ui.Modal, title="Name the piece"):
    title_field: discord.ui.TextInput = discord.ui.TextInput(label="Title", custom_id="piece_title", max_length=50)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Saved as {self.title_field.value}")


class RatingView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Like", custom_id="like", style=discord.ButtonStyle.success)
    async def like(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=f"Liked by {interaction.user.name}", view=None)

    @discord.ui.select(custom_id="tempo", options=[discord.SelectOption(label="Slow", value="slow"), discord.SelectOption(label="Fast", value="fast")])
    async def tempo(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"Tempo {select.values[0]}", ephemeral=True)

    @discord.ui.button(label="Rename", custom_id="rename")
    async def rename(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(ModalForm())


class PlaygroundTestBot(commands.Bot):
    """Answers a handful of slash commands the tests drive; records what it saw."""

    def __init__(self, *, guild_id: int | None = None, reply_delay: float = 0.0, intents: discord.Intents | None = None) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.members = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.sync_guild_id = guild_id
        self.reply_delay = reply_delay
        self.raw_reactions: list[tuple[str, discord.RawReactionActionEvent]] = []
        self.reaction_event = asyncio.Event()
        self.resumed = asyncio.Event()
        self.late_errors: list[discord.HTTPException] = []
        self.followup_errors: list[discord.HTTPException] = []
        self._add_commands()

    async def setup_hook(self) -> None:
        if self.sync_guild_id is not None:
            guild = discord.Object(self.sync_guild_id)
            self.tree.copy_global_to(guild=guild)
            self.tree.clear_commands(guild=None)
            await self.tree.sync(guild=guild)
        await self.tree.sync()

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(("add", payload))
        self.reaction_event.set()

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(("remove", payload))
        self.reaction_event.set()

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.command(description="Answer at once")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        @tree.command(description="Compose a piece")
        @app_commands.choices(style=[app_commands.Choice(name="Jazz", value="jazz"), app_commands.Choice(name="Rock", value="rock")])
        async def compose(interaction: discord.Interaction, style: app_commands.Choice[str], mood: str, bars: int = 8) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            data = f"{style.value}|{mood}|{bars}".encode() * 100
            await interaction.followup.send(f"{style.value} in a {mood} mood, {bars} bars", file=discord.File(__import__("io").BytesIO(data), "piece.mid"), view=RatingView())

        @tree.command(description="Echo an uploaded file")
        async def echo(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()
            await interaction.response.send_message(f"{file.filename}: {len(data)} bytes", file=discord.File(__import__("io").BytesIO(data), "copy-" + file.filename))

        @tree.command(description="Reply only to you")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("just for you", ephemeral=True)
            await interaction.followup.send("second, also private", ephemeral=True)

        @tree.command(description="Acknowledge too late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.reply_delay)
            try:
                await interaction.response.send_message("finally")
            except discord.HTTPException as error:
                self.late_errors.append(error)

        @tree.command(description="Defer, then follow up after a while")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await asyncio.sleep(self.reply_delay)
            try:
                await interaction.followup.send("done")
            except discord.HTTPException as error:
                self.followup_errors.append(error)

        @tree.command(description="Answer twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("one")
            try:
                await _raw_second_callback(interaction)
            except discord.HTTPException as error:
                self.late_errors.append(error)

        @tree.command(description="Answer, then edit, read back and delete the response")
        async def revise(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("draft")
            original = await interaction.original_response()
            await interaction.edit_original_response(content=original.content + ", revised")
            note = await interaction.followup.send("a note", wait=True)
            await note.edit(content="a note, edited")
            await asyncio.sleep(0.05)
            await interaction.delete_original_response()

        @tree.command(description="Pick an instrument")
        async def instrument(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"instrument: {name}")

        @instrument.autocomplete("name")
        async def instrument_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            names = ["piano", "pipa", "saxophone", "bass"]
            return [app_commands.Choice(name=n.title(), value=n) for n in names if n.startswith(current)]

        plugins = app_commands.Group(name="plugins", description="Manage plugins")

        @plugins.command(name="reload", description="Reload a plugin")
        @app_commands.checks.has_permissions(manage_guild=True)
        async def reload(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"reloaded {name}", ephemeral=True)

        @reload.error
        async def reload_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            await interaction.response.send_message(f"denied: {type(error).__name__}", ephemeral=True)

        tree.add_command(plugins)


async def _raw_second_callback(interaction: discord.Interaction) -> None:
    """A second callback straight through discord.py's webhook adapter (its InteractionResponse refuses locally)."""
    from discord.webhook.async_ import async_context, interaction_response_params

    params = interaction_response_params(4, {"content": "two"})
    await async_context.get().create_interaction_response(
        interaction.id, interaction.token, session=interaction._session, params=params
    )
