"""A tiny discord.py bot for poking at the playground page without the real Tunesmith bot:
`python -m bot.playground --demo-bot`. It answers /ping with a short tone, a button and a select."""

from __future__ import annotations

import io
import math
import struct
import wave

import discord
from discord import app_commands


def sine_wav(frequency: float = 440.0, seconds: float = 1.0, rate: int = 22_050) -> bytes:
    """A mono 16-bit WAV of a sine tone with short fades (no clicks)."""
    frames = int(seconds * rate)
    fade = max(1, int(0.02 * rate))
    samples = bytearray()
    for i in range(frames):
        envelope = min(1.0, i / fade, (frames - i) / fade)
        samples += struct.pack("<h", int(12_000 * envelope * math.sin(2 * math.pi * frequency * i / rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(samples))
    return buffer.getvalue()


class FeedbackModal(discord.ui.Modal, title="Send feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="What do you think?", style=discord.TextStyle.paragraph, custom_id="feedback")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Thanks, {interaction.user.name}: “{self.text.value}”", ephemeral=True)


class ToneView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Higher", style=discord.ButtonStyle.primary, custom_id="demo:higher")
    async def higher(self, interaction: discord.Interaction, button: discord.ui.Button[ToneView]) -> None:
        await interaction.response.edit_message(content=f"{interaction.user.name} asked for a higher note: 880 Hz", attachments=[discord.File(io.BytesIO(sine_wav(880)), "a5.wav")])

    @discord.ui.button(label="Feedback", style=discord.ButtonStyle.secondary, custom_id="demo:feedback")
    async def feedback(self, interaction: discord.Interaction, button: discord.ui.Button[ToneView]) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @discord.ui.select(custom_id="demo:mood", placeholder="Pick a mood", options=[discord.SelectOption(label=m.title(), value=m) for m in ("calm", "happy", "sad")])
    async def mood(self, interaction: discord.Interaction, select: discord.ui.Select[ToneView]) -> None:
        await interaction.response.send_message(f"Mood set to {select.values[0]}", ephemeral=True)


class DemoBot(discord.Client):
    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.guild = discord.Object(guild_id)

        @self.tree.command(description="Play a short tone", guild=self.guild)
        @app_commands.describe(note="Which note")
        @app_commands.choices(note=[app_commands.Choice(name=n, value=f) for n, f in (("A4", 440), ("C5", 523), ("E5", 659))])
        async def ping(interaction: discord.Interaction, note: int = 440) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(f"pong: {note} Hz", file=discord.File(io.BytesIO(sine_wav(note)), "tone.wav"), view=ToneView())

        @self.tree.command(description="Something only you can see", guild=self.guild)
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Only you can see this message.", ephemeral=True)

    async def setup_hook(self) -> None:
        self.add_view(ToneView())
        await self.tree.sync(guild=self.guild)
