"""Which servers this bot process holds when the bot is sharded (settings `shard_count` and `shard_ids`).

Discord gives each gateway shard the guilds with `(guild_id >> 22) % shard_count == shard_id`, and DMs to
shard 0. Several processes share one database; each must touch only the jobs of the servers its shards hold:
at start-up it tells the users of its own interrupted jobs and never a job that another live shard is running.
"""

from __future__ import annotations

from dataclasses import dataclass


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard that receives a guild's events; DMs (no guild) go to shard 0, as on Discord."""
    if guild_id is None or shard_count <= 1:
        return 0
    return (int(guild_id) >> 22) % shard_count


def parse_shard_ids(value: object) -> tuple[int, ...]:
    """"0,1", "2", [0, 1] or "" (none given: every shard) as a sorted tuple of distinct ids."""
    if value is None:
        return ()
    if isinstance(value, int):
        return (value,)
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(" ", ",").split(",") if p.strip()]
        try:
            return tuple(sorted({int(p) for p in parts}))
        except ValueError:
            raise ValueError(f"shard_ids must be shard numbers separated by commas, e.g. \"0,1\"; got {value!r}") from None
    if isinstance(value, (list, tuple, set)):
        return tuple(sorted({int(v) for v in value}))
    raise ValueError(f"shard_ids must be shard numbers separated by commas, e.g. \"0,1\"; got {value!r}")


@dataclass(frozen=True)
class ShardScope:
    """The shards one process runs: `shard_count` None is an unsharded bot, which holds everything."""

    shard_count: int | None = None
    shard_ids: tuple[int, ...] = ()

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None

    @property
    def ids(self) -> tuple[int, ...]:
        """This process's shards (every shard when none were named)."""
        if self.shard_count is None:
            return (0,)
        return self.shard_ids or tuple(range(self.shard_count))

    def holds(self, guild_id: int | None) -> bool:
        """Whether this process receives the guild's events (for None: the DMs, which shard 0 receives)."""
        if self.shard_count is None:
            return True
        return shard_of(guild_id, self.shard_count) in self.ids

    def describe(self) -> str:
        if self.shard_count is None:
            return "unsharded"
        return f"shards {','.join(map(str, self.ids))} of {self.shard_count}"


__all__ = ["ShardScope", "parse_shard_ids", "shard_of"]
