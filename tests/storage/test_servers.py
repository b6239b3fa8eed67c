from __future__ import annotations

import pytest

from storage import ServerSettings, ServerSettingsError, Storage


async def test_unknown_server_gets_defaults(storage: Storage) -> None:
    settings = await storage.servers.get(42)
    assert settings == ServerSettings(guild_id=42)
    assert settings.allows_style("rock") and settings.allows_channel(1)


async def test_update_changes_only_named_fields_and_canonicalises(storage: Storage) -> None:
    await storage.servers.update(42, default_mood="relaxed", cooldown_seconds=10)
    settings = await storage.servers.update(42, allowed_styles=["bossa", "Jazz", "latin"], admin_role_ids=[5, 5, 6])
    assert settings.default_mood == "calm"
    assert settings.cooldown_seconds == 10.0
    assert settings.allowed_styles == ("latin", "jazz")
    assert settings.admin_role_ids == (5, 6)
    assert await storage.servers.get(42) == settings
    assert not settings.allows_style("rock")
    assert await storage.servers.get(43) == ServerSettings(guild_id=43)


async def test_clearing_a_default(storage: Storage) -> None:
    await storage.servers.update(1, default_style="rock")
    assert (await storage.servers.update(1, default_style=None)).default_style is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"default_style": "polka"}, "Unknown style 'polka'"),
        ({"allowed_styles": ["jazz", "nope"]}, "Unknown style 'nope'"),
        ({"default_mood": "grumpy"}, "Unknown mood 'grumpy'"),
        ({"cooldown_seconds": -1}, "between 0 and 3600"),
    ],
)
async def test_invalid_settings_have_clear_messages(storage: Storage, changes: dict, message: str) -> None:
    with pytest.raises(ServerSettingsError, match=message):
        await storage.servers.update(1, **changes)
    assert await storage.servers.get(1) == ServerSettings(guild_id=1)


async def test_default_style_must_be_allowed(storage: Storage) -> None:
    await storage.servers.update(1, default_style="rock")
    with pytest.raises(ServerSettingsError, match="not among the allowed styles"):
        await storage.servers.update(1, allowed_styles=["jazz"])
    assert (await storage.servers.update(1, allowed_styles=["jazz"], default_style="jazz")).default_style == "jazz"


async def test_reset(storage: Storage) -> None:
    await storage.servers.update(1, allowed_channel_ids=[9])
    await storage.servers.reset(1)
    assert await storage.servers.get(1) == ServerSettings(guild_id=1)
