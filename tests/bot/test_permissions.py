from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import discord
import pytest

from bot.permissions import AccessPolicy
from storage import ServerSettings
from tests.helpers.bot import make_settings

OWNER, OTHER, GUILD_OWNER = 1, 2, 3
MODS = 50


@dataclass
class FakeGuild:
    owner_id: int = GUILD_OWNER


@dataclass
class FakeRole:
    id: int


@dataclass
class FakeMember:
    """The parts of discord.Member the policy reads."""

    id: int
    resolved_permissions: discord.Permissions | None = None
    guild_permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    roles: list[FakeRole] = field(default_factory=list)
    guild: FakeGuild = field(default_factory=FakeGuild)


@pytest.fixture
def policy(tmp_path: Path) -> AccessPolicy:
    return AccessPolicy(make_settings(tmp_path, owner_ids=[OWNER]))


def admin(member: FakeMember, policy: AccessPolicy, admin_roles: tuple[int, ...] = ()) -> bool:
    return policy.is_server_admin(member, ServerSettings(guild_id=9, admin_role_ids=admin_roles))  # type: ignore[arg-type]


def test_owners_are_owners_and_admins_everywhere(policy: AccessPolicy) -> None:
    assert policy.is_owner(FakeMember(OWNER))  # type: ignore[arg-type]
    assert not policy.is_owner(FakeMember(OTHER))  # type: ignore[arg-type]
    assert admin(FakeMember(OWNER), policy)


def test_manage_server_or_administrator_makes_an_admin(policy: AccessPolicy) -> None:
    assert admin(FakeMember(OTHER, resolved_permissions=discord.Permissions(manage_guild=True)), policy)
    assert admin(FakeMember(OTHER, resolved_permissions=discord.Permissions(administrator=True)), policy)
    assert admin(FakeMember(OTHER, guild_permissions=discord.Permissions(manage_guild=True)), policy)
    assert not admin(FakeMember(OTHER, resolved_permissions=discord.Permissions(manage_messages=True, kick_members=True)), policy)


def test_interaction_permissions_win_over_the_role_cache(policy: AccessPolicy) -> None:
    # Discord resolved the member's permissions for this interaction: no Manage Server, whatever the cache says.
    for resolved in (discord.Permissions.none(), discord.Permissions(send_messages=True)):
        member = FakeMember(OTHER, resolved_permissions=resolved, guild_permissions=discord.Permissions(manage_guild=True))
        assert not admin(member, policy)


def test_the_servers_owner_is_an_admin(policy: AccessPolicy) -> None:
    assert admin(FakeMember(GUILD_OWNER), policy)


def test_a_configured_admin_role_makes_an_admin(policy: AccessPolicy) -> None:
    member = FakeMember(OTHER, roles=[FakeRole(MODS)])
    assert not admin(member, policy)
    assert admin(member, policy, admin_roles=(MODS,))


def test_the_admin_permission_is_configurable_and_checked(tmp_path: Path) -> None:
    policy = AccessPolicy(make_settings(tmp_path, admin_permission="manage_channels"))
    assert policy.admin_permission_label == "Manage Channels"
    assert admin(FakeMember(OTHER, resolved_permissions=discord.Permissions(manage_channels=True)), policy)
    assert not admin(FakeMember(OTHER, resolved_permissions=discord.Permissions(manage_guild=True)), policy)
    with pytest.raises(ValueError, match="not a Discord permission name"):
        AccessPolicy(make_settings(tmp_path, admin_permission="be_cool"))
