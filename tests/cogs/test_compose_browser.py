"""A person in the playground page: types /compose with options, sees the track arrive, plays its audio,
sees the piano roll and the MIDI link, and rates it with a reaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.client import TunesmithBot
from bot.playground import Playground
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

SCREENSHOT = Path("/tmp/tunesmith-compose.png")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240), pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]


async def test_compose_in_the_page_and_play_it(playground: Playground, music_bot: TunesmithBot) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(playground.url)
            await page.wait_for_selector("#bot-status.online")
            await page.select_option("#user-switcher", label="bob")
            box = page.locator("#command-input")
            await box.click()
            await box.type("/compose style:jazz mood:calm bars:8 seed:42")
            await box.press("Enter")

            track = page.locator(".message", has=page.locator("audio")).first
            await track.wait_for(timeout=120_000)
            assert "Calm jazz" in await track.inner_text()
            await page.wait_for_function("document.querySelector('.message audio').readyState >= 1", timeout=20_000)
            await track.locator("audio").evaluate("a => a.play()")
            await page.wait_for_function("document.querySelector('.message audio').currentTime > 0", timeout=20_000)
            assert await track.locator("img").count() >= 1
            assert await track.locator("a[href$='.mid'], a[download$='.mid']").count() >= 1
            await track.locator(".reaction", has_text="5️⃣").wait_for(timeout=20_000)
            await track.locator(".reaction", has_text="5️⃣").click()
            await page.wait_for_timeout(300)
            await page.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            await browser.close()
    storage = music_bot.services.storage
    track_row = (await storage.tracks.for_guild(playground.guild_id))[0]
    rating = await storage.ratings.get(playground.user("bob").id, track_row.id)
    assert rating is not None and rating.score == 5
