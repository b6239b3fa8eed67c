"""The one Settings object: defaults, tunesmith.toml, environment variables, and the documented example file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from bot.config import PROJECT_ROOT, Settings

EXAMPLE = PROJECT_ROOT / "tunesmith.example.toml"


def settings_from(toml: Path) -> type[Settings]:
    class FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=toml)

    return FromFile


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TUNESMITH_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)


def test_the_example_file_is_valid_and_matches_the_defaults() -> None:
    from_example = settings_from(EXAMPLE)()
    defaults = settings_from(PROJECT_ROOT / "no-such-file.toml")()
    differing = [name for name in Settings.model_fields if getattr(from_example, name) != getattr(defaults, name)]
    assert differing == [], "tunesmith.example.toml must show the defaults: update it with the settings"


def test_the_example_file_documents_every_setting() -> None:
    text = EXAMPLE.read_text()
    missing = [name for name in Settings.model_fields if f"{name} =" not in text]  # set or shown commented out
    assert missing == []


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "tunesmith.toml"
    toml.write_text('log_level = "DEBUG"\nowner_ids = [1]\nplayground_port = 9000\n')
    monkeypatch.setenv("TUNESMITH_OWNER_IDS", "[2, 3]")
    monkeypatch.setenv("TUNESMITH_LOG_FORMAT", "json")
    settings = settings_from(toml)()
    assert settings.owner_ids == [2, 3]
    assert settings.log_format == "json"
    assert settings.log_level == "DEBUG" and settings.playground_port == 9000


def test_the_token_comes_from_DISCORD_TOKEN_and_is_never_in_the_redacted_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.very-secret-token")
    settings = settings_from(tmp_path / "none.toml")()
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "MTIz.very-secret-token"
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.redacted())
    assert settings.redacted()["discord_token"] == "***"


def test_typos_and_bad_values_are_refused(tmp_path: Path) -> None:
    toml = tmp_path / "tunesmith.toml"
    toml.write_text("enabled_cog = []\n")
    with pytest.raises(ValidationError, match="enabled_cog"):
        settings_from(toml)()
    for field, value in [("log_format", "xml"), ("log_level", "LOUD"), ("shutdown_grace_seconds", -1)]:
        with pytest.raises(ValidationError, match=field):
            settings_from(tmp_path / "none.toml")(**{field: value})  # type: ignore[arg-type]


def test_log_level_is_case_insensitive(tmp_path: Path) -> None:
    assert settings_from(tmp_path / "none.toml")(log_level="debug").log_level == "DEBUG"


def test_database_url_is_empty_for_sqlite_or_a_postgresql_url(tmp_path: Path) -> None:
    make = settings_from(tmp_path / "none.toml")
    sqlite = make(data_dir=tmp_path)
    assert sqlite.database_url == "" and sqlite.database == tmp_path / "tunesmith.sqlite3" and not sqlite.uses_postgres
    url = "postgresql://tunesmith@db.example:5432/tunesmith"
    postgres = make(data_dir=tmp_path, database_url=url)
    assert postgres.database == url and postgres.uses_postgres
    with pytest.raises(ValidationError, match="database_url"):
        make(database_url="mysql://nope")
