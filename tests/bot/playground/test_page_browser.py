"""The playground page in headless Chromium: type a slash command, hear the audio it returns,
click a button, react, and switch users."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

import discord
import pytest
from discord.ext import commands

from bot.playground import Playground
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

SCREENSHOT = Path("/tmp/playground.png")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]


def tone_wav(seconds: float = 1.5, frequency: float = 440.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * frequency * i / rate))) for i in range(int(seconds * rate))))
    return buffer.getvalue()


class TitleModal(discord.ui.Modal, title="Name it"):
    name: discord.ui.TextInput[TitleModal] = discord.ui.TextInput(label="Title", custom_id="title")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"named {self.name.value}", ephemeral=True)


class AgainView(discord.ui.View):
    @discord.ui.button(label="Again", custom_id="again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[AgainView]) -> None:
        await interaction.response.edit_message(content=f"again, for {interaction.user.name}")

    @discord.ui.button(label="Name", custom_id="name")
    async def name(self, interaction: discord.Interaction, button: discord.ui.Button[AgainView]) -> None:
        await interaction.response.send_modal(TitleModal())


class PingBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)

        @self.tree.command(description="Reply with a short tone")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", file=discord.File(io.BytesIO(tone_wav()), "tone.wav"), view=AgainView())

    async def setup_hook(self) -> None:
        await self.tree.sync()


async def test_page_runs_a_command_plays_audio_and_clicks(playground: Playground, start_bot) -> None:
    from playwright.async_api import async_playwright

    await start_bot(PingBot())
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 760})
            await page.goto(playground.url)
            await page.wait_for_selector("#bot-status.online")

            # Type the command with the hint list: "/pi" suggests /ping, Enter completes, Enter sends.
            composer = page.locator("#command-input")
            await composer.click()
            await composer.type("/pi")
            await page.wait_for_selector(".suggestion >> text=/ping")
            await composer.press("Enter")
            assert await composer.input_value() == "/ping "
            await composer.press("Enter")

            first = page.locator(".message", has_text="pong").first
            await first.wait_for()
            message = page.locator(f'[data-message-id="{await first.get_attribute("data-message-id")}"]')  # survives edits
            used = await message.locator(".used-command").inner_text()
            assert "Alice" in used and "/ping" in used
            audio = message.locator("audio")
            await audio.wait_for()
            await page.wait_for_function("document.querySelector('audio').readyState >= 1", timeout=10_000)
            await audio.evaluate("a => a.play()")
            await page.wait_for_function("document.querySelector('audio').currentTime > 0", timeout=10_000)

            # The button answers with a type-7 update of the same message.
            await message.locator("button[data-custom-id=again]").click()
            await page.locator(".message", has_text="again, for alice").wait_for()

            # A modal opens as a dialog; its ephemeral answer is marked and visible to alice only.
            await message.locator("button[data-custom-id=name]").click()
            await page.locator(".modal input[data-custom-id=title]").fill("Blue Dawn")
            await page.locator(".modal button[type=submit]").click()
            private = page.locator(".message.ephemeral", has_text="named Blue Dawn")
            await private.wait_for()
            assert "Only you can see this" in await private.inner_text()

            # React as alice, then switch to bob: the reaction is alice's, not bob's.
            await page.locator(".message .add-reaction").first.click()
            await page.locator(".emoji-picker button", has_text="🔥").click()
            await page.locator(".reaction.me", has_text="🔥").wait_for()
            await playground.wait_for(lambda e: e.kind == "reaction_add")
            await page.select_option("#user-switcher", label="bob")
            await page.locator("#member-list li.me", has_text="bob").wait_for()
            reaction = page.locator(".reaction", has_text="🔥")
            await reaction.wait_for()
            assert await reaction.get_attribute("aria-pressed") == "false"
            assert await page.locator(".message", has_text="named Blue Dawn").count() == 0
            await page.wait_for_timeout(200)
            await page.screenshot(path=str(SCREENSHOT))
        finally:
            await browser.close()
    last = playground.messages()[-1]
    assert last["content"] == "again, for alice" and last["reactions"][0]["count"] == 1


async def test_page_switches_between_guilds_and_the_dm(playground: Playground, start_bot) -> None:
    from playwright.async_api import async_playwright
    from test_playground_scopes import ScopeBot

    playground.add_guild("Second", members=["alice"])
    await start_bot(ScopeBot())
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 760})
            await page.goto(playground.url)
            await page.wait_for_selector("#bot-status.online")
            groups = await page.locator("#places .channel-group").all_text_contents()
            assert groups == ["Playground", "Second", "Direct messages"]

            # Into the DM: its header, and a command run there answers there.
            await page.locator("#places .channel", has_text="Tunesmith").click()
            await page.locator("#guild-name", has_text="Direct messages").wait_for()
            composer = page.locator("#command-input")
            await composer.fill("/where")
            await composer.press("Enter")
            await page.locator(".message", has_text="dm channel").wait_for()

            # Into the second guild: the DM's messages are gone from view, the command answers in that guild.
            await page.locator("#places .channel-group:text('Second') + .channel").click()
            await page.locator("#guild-name", has_text="Second").wait_for()
            assert await page.locator(".message", has_text="dm channel").count() == 0
            await composer.fill("/where")
            await composer.press("Enter")
            await page.locator(".message", has_text=f"guild {playground.guild('Second').id}").wait_for()
        finally:
            await browser.close()
