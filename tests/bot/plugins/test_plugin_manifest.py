from __future__ import annotations

import types

import pytest

from bot.plugins import ManifestError, PluginManifest
from bot.plugins.manifest import manifest_of


def manifest(**overrides: object) -> PluginManifest:
    fields: dict[str, object] = dict(name="hello", version="1.2.0", description="Says hello.", bot_versions=">=0.1,<1.0")
    fields.update(overrides)
    return PluginManifest(**fields)  # type: ignore[arg-type]


def test_supports_checks_the_bot_version_against_the_specifier() -> None:
    m = manifest(bot_versions=">=0.1,<1.0")
    assert m.supports("0.1.0")
    assert m.supports("0.9.3")
    assert not m.supports("1.0.0")
    assert not m.supports("0.0.9")


def test_pre_release_bots_count_as_their_version() -> None:
    assert manifest(bot_versions=">=0.1").supports("0.2.0rc1")


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("name", "Hello World", "lowercase"),
        ("version", "one", "PEP 440 version"),
        ("bot_versions", "0.1 to 1.0", "PEP 440 specifier"),
        ("permissions", ["send_messages", "fly"], "unknown Discord permissions fly"),
        ("description", "  ", "description is empty"),
    ],
)
def test_malformed_manifests_are_refused_with_the_reason(field: str, value: object, complaint: str) -> None:
    with pytest.raises(ManifestError, match=complaint):
        manifest(**{field: value})


def test_permissions_are_deduplicated_and_copied() -> None:
    permissions = ["attach_files", "attach_files", "add_reactions"]
    m = manifest(permissions=permissions)
    permissions.append("administrator")
    assert m.permissions == ["attach_files", "add_reactions"]


def test_manifest_of_a_module_without_one_says_so() -> None:
    with pytest.raises(ManifestError, match="has no MANIFEST"):
        manifest_of(types.ModuleType("bare"))
    module = types.ModuleType("wrong")
    module.MANIFEST = {"name": "wrong"}  # type: ignore[attr-defined]
    with pytest.raises(ManifestError, match="not a PluginManifest"):
        manifest_of(module)
