"""Tunesmith's one settings object: read from `tunesmith.toml` and `TUNESMITH_*` / `DISCORD_TOKEN` environment variables.

Environment variables win over the file; the file wins over the defaults. See `tunesmith.example.toml`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

if TYPE_CHECKING:
    from bot.sharding import ShardScope

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Only cogs that exist: an enabled cog that is missing is reported as "not found" at start-up.
# The music cogs (compose, rating, library, recommend, retrain, privacy) join this list as they land.
DEFAULT_COGS = ("plugins", "settings", "compose", "rating", "library", "recommend", "privacy", "retrain")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TUNESMITH_",
        toml_file=os.environ.get("TUNESMITH_CONFIG", "tunesmith.toml"),
        extra="forbid",
    )

    # Discord. Without a token the bot runs against the built-in playground.
    discord_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "TUNESMITH_DISCORD_TOKEN", "discord_token"))
    owner_ids: list[int] = Field(default_factory=list, description="Discord user ids with every permission on every server")
    admin_permission: str = Field(default="manage_guild", description="Discord permission that makes a member a server admin")

    # Plugins: cogs in cogs/ by module name, plus third-party plugins by entry-point name.
    enabled_cogs: list[str] = Field(default_factory=lambda: list(DEFAULT_COGS))
    enabled_plugins: list[str] = Field(default_factory=list, description="Entry-point names in the tunesmith.plugins group to load at start")
    plugins_owner_only: bool = Field(default=True, description="Only bot owners load, unload or reload plugins (shared by every server); false is refused")

    # Where things live.
    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="Database, rendered files and model versions")
    media_dir: Path | None = Field(
        default=None,
        description="Rendered MIDI, MP3 and pictures; default <data_dir>/media. Shards on several hosts need it on a shared filesystem",
    )
    shared_data_dir: Path = Field(default=PROJECT_ROOT.parent / "shared" / "data", description="Training data sets, when present")
    checkpoint: Path | None = Field(default=None, description="Model checkpoint; default: the active version, else the shipped one")
    soundfont: Path | None = Field(default=None, description="SoundFont for audio; default: the best installed General MIDI one")

    # Sharding (docs/DEPLOY.md, "Shards"): this process runs shard_ids of shard_count gateway shards; several
    # processes share the database and the media folder. No shard_count: one unsharded bot (the default).
    shard_count: int | None = Field(default=None, ge=1, description="Gateway shards of the whole bot, over all its processes")
    shard_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=(), description='This process\'s shards, e.g. "0,1"; empty: all shard_count of them')

    # Playground (used when there is no Discord token).
    playground_host: str = "127.0.0.1"
    playground_port: int = 8765

    # Limits.
    upload_cap_bytes: int = Field(default=8 * 1024 * 1024, description="Largest MP3 the bot attaches")
    user_cooldown_seconds: float = 5.0
    server_queue_cap: int = 20
    max_upload_midi_bytes: int = 1024 * 1024
    rating_changes_per_window: int = Field(default=10, ge=1, description="Most rating changes per member per rating_window_seconds; the rest wait")
    rating_window_seconds: float = Field(default=10.0, gt=0)
    rating_reconcile_days: float = Field(default=14.0, ge=0, description="At start-up, reactions on tracks posted this many days back are read again")
    rating_reconcile_max_tracks: int = Field(default=200, ge=0, description="At most this many of those tracks, newest first")

    # Engine service.
    start_engine: bool = Field(default=True, description="Start the composer and render workers with the bot (off only for bots without music cogs)")
    engine_queue_cap: int = Field(default=100, ge=1, description="Most jobs waiting or in progress across all servers")
    per_user_queue_cap: int = Field(default=3, ge=1, description="Most jobs one user may have waiting or in progress")
    batch_max_requests: int = 16
    batch_max_wait_ms: int = 20
    render_workers: int = 2
    request_timeout_seconds: float = 60.0
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, description="On shutdown, the longest the bot waits for the engine to finish in-flight jobs; what is left is recorded as interrupted")

    # Where the model and the renders run: "local" (processes on this machine, the default) or "ray"
    # (Ray Serve deployments on the cluster at ray_address; docs/DEPLOY.md). Queue and fairness stay in the bot.
    engine_backend: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(default=None, description="The Ray head's host:port (e.g. 10.0.0.5:6379), for engine_backend = \"ray\"")
    ray_app_name: str = Field(default="tunesmith", pattern=r"^[A-Za-z0-9_-]+$", description="Prefix of this bot's Serve applications (one per shard)")
    ray_model_replicas: int = Field(default=1, ge=1, description="Model replicas; each takes ray_model_gpus GPUs")
    ray_model_gpus: float = Field(default=0.0, ge=0, description="GPUs per model replica (1: a whole GPU, 0.5: half of one, 0: CPU)")
    ray_render_max_replicas: int | None = Field(default=None, ge=1, description="Autoscale render replicas from render_workers up to this many")

    # Retraining: no one member's taste may decide the model.
    retrain_min_raters: int = Field(default=3, ge=1, description="Different members who must have rated before /retrain starts")
    retrain_max_member_share: float = Field(default=0.2, gt=0, le=1, description="The most of the training ratings' weight one member may carry")
    # Database: SQLite in data_dir unless database_url names a PostgreSQL database (docs/DEPLOY.md, "PostgreSQL").
    database_url: str = Field(default="", description="Empty: the SQLite file <data_dir>/tunesmith.sqlite3. "
                              "postgresql://user[:password]@host:port/database: that PostgreSQL database, shared by every bot process")
    # Waiting for other programs, and online backups into <data_dir>/backups (`tunesmith db backup|restore`; SQLite only).
    database_busy_timeout_seconds: float = Field(default=30.0, gt=0, description="How long a write waits for another program holding the database")
    backup_interval_hours: float = Field(default=24.0, ge=0, description="Hours between automatic online backups while the bot runs; 0 turns them off")
    backup_keep: int = Field(default=7, ge=1, description="How many automatic backups to keep; older ones are deleted")
    # Media retention (storage.retention, `tunesmith media prune`): rendered files of old tracks and rejected retrain runs go.
    media_retention_days: float = Field(default=30.0, ge=0, description="Days a track's MIDI, MP3 and picture, and a rejected retrain run's files, are kept; 0 keeps them forever. The notes stay, so files can be rendered again")
    media_prune_interval_hours: float = Field(default=24.0, gt=0, description="Hours between the bot's retention sweeps while it runs")

    # Logging: "console" for people, "json" for machines.
    log_level: str = "INFO"
    log_format: str = "console"

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        if value and value.split("://", 1)[0] not in ("postgresql", "postgres"):
            raise ValueError("database_url must be empty (SQLite in data_dir) or a PostgreSQL URL: postgresql://user@host:5432/database")
        return value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value not in ("console", "json"):
            raise ValueError("log_format must be 'console' or 'json'")
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: Any) -> tuple[int, ...]:
        from bot.sharding import parse_shard_ids

        if isinstance(value, str) and value.strip().startswith("["):  # a JSON list, as other list settings take
            import json

            value = json.loads(value)
        return parse_shard_ids(value)

    @model_validator(mode="after")
    def _check_shards(self) -> "Settings":
        if self.shard_ids and self.shard_count is None:
            raise ValueError("shard_ids needs shard_count: how many shards the whole bot has (e.g. shard_count = 2, shard_ids = \"0\")")
        if self.shard_count is not None and any(not 0 <= i < self.shard_count for i in self.shard_ids):
            raise ValueError(f"shard_ids {list(self.shard_ids)} must be between 0 and shard_count - 1 ({self.shard_count - 1})")
        if self.media_dir is None:
            self.media_dir = self.data_dir / "media"
        return self

    @property
    def shard_scope(self) -> "ShardScope":
        from bot.sharding import ShardScope

        return ShardScope(self.shard_count, tuple(self.shard_ids))

    @model_validator(mode="after")
    def _check_ray(self) -> "Settings":
        if self.engine_backend == "ray":
            if not self.ray_address:
                raise ValueError('engine_backend = "ray" needs ray_address: the Ray head\'s host:port, e.g. "10.0.0.5:6379" (docs/DEPLOY.md)')
            from engine.service.ray_backend.cluster import parse_address

            parse_address(self.ray_address)  # ValueError says what is wrong with it
        if self.ray_render_max_replicas is not None and self.ray_render_max_replicas < self.render_workers:
            raise ValueError(f"ray_render_max_replicas ({self.ray_render_max_replicas}) is below render_workers ({self.render_workers}), the replicas it starts with")
        return self

    @property
    def database_path(self) -> Path:
        """The SQLite file (used when database_url is empty)."""
        return self.data_dir / "tunesmith.sqlite3"

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def database(self) -> Path | str:
        """What storage opens (storage.open_database): the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe to log: the token is never included."""
        data = self.model_dump(mode="json")
        data["discord_token"] = "***" if self.discord_token else None
        return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
