"""Interaction flows with a real discord.py bot: defer + file follow-up, components, modals,
subcommands with permissions, ephemeral messages and attachment options."""

from __future__ import annotations

import pytest
from tests.helpers.playground_bots import PlaygroundTestBot

from bot.playground import Playground, PlaygroundError


async def test_deferred_then_followup_with_file_downloads_identical(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    handle = await playground.run_command(playground.user("alice"), "compose", {"style": "jazz", "mood": "calm"})
    assert (await handle.acknowledged())["type"] == 5
    thinking = playground.messages()[-1]
    assert thinking["flags"] & 128  # "Bot is thinking…"
    message = await handle.followup(timeout=10)
    assert message["id"] == thinking["id"]  # the first follow-up replaces the thinking message
    assert message["content"] == "jazz in a calm mood, 8 bars"
    [attachment] = message["attachments"]
    assert attachment["filename"] == "piece.mid" and attachment["content_type"] == "audio/midi"
    data = await playground.fetch_attachment(attachment)
    assert data == b"jazz|calm|8" * 100 and attachment["size"] == len(data)
    assert playground.messages()[-1]["flags"] & 128 == 0


async def test_choice_and_type_errors_are_caught_before_sending(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    alice = playground.user("alice")
    with pytest.raises(PlaygroundError, match="not one of the choices: jazz, rock"):
        await playground.run_command(alice, "compose", {"style": "polka", "mood": "calm"})
    with pytest.raises(PlaygroundError, match="missing required option"):
        await playground.run_command(alice, "compose", {"style": "jazz"})
    with pytest.raises(PlaygroundError, match="needs a integer"):
        await playground.run_command(alice, "compose", {"style": "jazz", "mood": "calm", "bars": "many"})
    with pytest.raises(PlaygroundError, match=r"unknown command /nope; registered commands: .*/compose"):
        await playground.run_command(alice, "nope")


async def test_button_click_updates_the_message(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    bob = playground.user("bob")
    handle = await playground.run_command(bob, "compose", {"style": "Rock", "mood": "happy", "bars": "4"})
    message = await handle.followup(timeout=10)
    assert message["content"].startswith("rock in a happy mood, 4 bars")
    click = await playground.click(bob, message, "like")
    assert (await click.acknowledged())["type"] == 7
    updated = await click.followup()
    assert updated["id"] == message["id"] and updated["content"] == "Liked by bob"
    assert updated["components"] == []
    assert playground.messages()[-1]["content"] == "Liked by bob"


async def test_select_menu_and_unknown_component(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    carol = playground.user("carol")
    message = await (await playground.run_command(carol, "compose", {"style": "jazz", "mood": "sad"})).followup(timeout=10)
    with pytest.raises(PlaygroundError, match="no option 'medium'"):
        await playground.click(carol, message, "tempo", ["medium"])
    with pytest.raises(PlaygroundError, match="no clickable component 'nope'"):
        await playground.click(carol, message, "nope")
    handle = await playground.click(carol, message, "tempo", ["fast"])
    reply = await handle.followup()
    assert reply["content"] == "Tempo fast" and reply["flags"] & 64


async def test_modal_opened_from_button_and_submitted(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    alice = playground.user("alice")
    message = await (await playground.run_command(alice, "compose", {"style": "jazz", "mood": "calm"})).followup(timeout=10)
    opener = await playground.click(alice, message, "rename")
    callback = await opener.acknowledged()
    assert callback["type"] == 9 and callback["data"]["title"] == "Name the piece"
    with pytest.raises(PlaygroundError, match="no field 'title'"):
        await playground.submit_modal(alice, opener, {"title": "x"})
    submitted = await playground.submit_modal(alice, opener, {"piece_title": "Blue Dawn"})
    assert (await submitted.followup())["content"] == "Saved as Blue Dawn"


async def test_subcommand_group_respects_admin_permission(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    admin_reply = await (await playground.run_command(playground.user("alice"), "plugins reload", {"name": "compose"})).followup()
    assert admin_reply["content"] == "reloaded compose"
    denied = await (await playground.run_command(playground.user("bob"), "plugins reload", {"name": "compose"})).followup()
    assert denied["content"] == "denied: MissingPermissions"
    dave = playground.add_user("dave", admin=True)
    assert (await (await playground.run_command(dave, "plugins reload", {"name": "x"})).followup())["content"] == "reloaded x"


async def test_ephemeral_followups_are_visible_only_to_the_invoker(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    alice, bob = playground.user("alice"), playground.user("bob")
    handle = await playground.run_command(alice, "secret")
    first, second = await handle.followup(), await handle.followup()
    assert (first["content"], second["content"]) == ("just for you", "second, also private")
    assert first["flags"] & 64 and second["flags"] & 64
    assert [m["content"] for m in playground.messages(as_user=alice)] == ["just for you", "second, also private"]
    assert playground.messages(as_user=bob) == [] and playground.messages() == []
    with pytest.raises(PlaygroundError, match="cannot see it"):
        await playground.click(bob, first, "anything")


async def test_attachment_option_reaches_the_bot(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot())
    midi = bytes(range(256)) * 40
    handle = await playground.run_command(playground.user("carol"), "echo", attachments=[("tune.mid", midi)])
    reply = await handle.followup()
    assert reply["content"] == f"tune.mid: {len(midi)} bytes"
    assert await playground.fetch_attachment(reply["attachments"][0]) == midi


async def test_guild_synced_commands_work(playground: Playground, start_bot) -> None:
    await start_bot(PlaygroundTestBot(guild_id=playground.guild_id))
    assert playground.registered_commands() == []
    assert "ping" in {c["name"] for c in playground.registered_commands(playground.guild_id)}
    reply = await (await playground.run_command(playground.user("bob"), "ping")).followup()
    assert reply["content"] == "pong"
