"""A sharded bot under load, with faults: the playground with servers on every shard, one real OS process per
shard (`tunesmith run --shard-child`), one shared database and media folder, the engine embedded in each shard
or on a Ray cluster. Used by tests/bot/test_shards_scale.py (which asserts what users got) and by
`tunesmith bench scale --shards 2` (which prints throughput and latency).

The scenario (`run_scenario`): warm-up, then half the composes at once across servers on every shard (a render
replica killed while they run, on Ray); each track rated with a reaction, until the rating is stored (the
rating is then acknowledged); then the other half at once, and once every one is acknowledged one shard process
is killed with SIGKILL and started again. Users of jobs the killed process had in flight are told by the new
process to run them again, and do; a button on a track the killed process made is clicked on the new one.
What it reports: every user's outcome, which tracks, ratings and media are still there, and timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import PROJECT_ROOT
from bot.playground import InteractionHandle, Playground
from bot.sharding import shard_of
from engine.labels import MOODS, STYLES

MUSIC_COGS = ["plugins", "settings", "compose", "rating", "library", "recommend", "privacy", "retrain"]
TRACK_FOOTER = re.compile(r"Track #(\d+)")
RESTARTED = "Tunesmith restarted while composing"
RATING_EMOJI = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]


def is_track(message: Mapping[str, Any]) -> bool:
    return len(message.get("attachments", [])) >= 3


def track_id_of(message: Mapping[str, Any]) -> int:
    for embed in message.get("embeds", []):
        match = TRACK_FOOTER.search((embed.get("footer") or {}).get("text", ""))
        if match:
            return int(match.group(1))
    raise ValueError("not a track message")


async def final_message(handle: InteractionHandle, timeout: float) -> dict[str, Any]:
    """The interaction's last message: a track, an error, or an ephemeral refusal (queue positions skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await handle.followup(timeout=max(0.1, deadline - loop.time()))
        content = message.get("content") or ""
        if is_track(message) or content.startswith("❌") or message.get("flags", 0) & 64 or not content.startswith(("⏳", "🎼")):
            return message


@dataclass
class ShardProcessHandle:
    shard_id: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0


@dataclass
class Compose:
    """One user's /compose, as the user sees it."""

    index: int
    user: str
    guild_id: int
    channel_id: int
    shard: int
    submitted: float = 0.0
    acknowledged: bool = False
    finished: float | None = None
    kind: str = "pending"  # track, error, refused, interrupted (told to run it again), unanswered
    track_id: int | None = None
    retried: "Compose | None" = None
    detail: str = ""

    @property
    def seconds(self) -> float | None:
        return None if self.finished is None else self.finished - self.submitted

    @property
    def answered_with_track(self) -> bool:
        return self.kind == "track" or (self.retried is not None and self.retried.kind == "track")


class ShardedBot:
    """The playground in this process, and `shard_count` bot processes connected to it."""

    def __init__(self, data_dir: Path, *, shard_count: int = 2, guilds_per_shard: int = 3, users: int = 24,
                 env: Mapping[str, str] | None = None, ack_deadline: float = 3.0, database_url: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.shard_count = shard_count
        self.guilds_per_shard = guilds_per_shard
        self.n_users = users
        self.extra_env = dict(env or {})
        self.database_url = database_url  # empty: one SQLite file in data_dir, shared by the shard processes
        self.playground = Playground(ack_deadline=ack_deadline)
        self.shards = [ShardProcessHandle(i, self.data_dir / f"shard{i}.log") for i in range(shard_count)]
        self.guilds: dict[int, list[int]] = {}
        self.users: list[str] = []
        self.started: list[Compose] = []  # every compose and click so far, as soon as it is sent

    async def __aenter__(self) -> "ShardedBot":
        try:
            await self.start()
        except BaseException:
            await self.stop()  # a shard that failed to start must not leave the others running
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self, timeout: float = 300) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await self.playground.start()
        self.guilds = await add_guilds_on_shards(self.playground, self.shard_count, self.guilds_per_shard)
        for i in range(self.n_users):
            name = f"user{i:03d}"
            self.playground.add_user(name, guilds=[g for ids in self.guilds.values() for g in ids])
            self.users.append(name)
        await asyncio.gather(*(self.start_shard(i, timeout=timeout) for i in range(self.shard_count)))

    @property
    def database(self) -> Path | str:
        return self.database_url or self.data_dir / "tunesmith.sqlite3"

    def environment(self, shard_id: int) -> dict[str, str]:
        from bot.shards import PLAYGROUND_TOKEN_ENV

        env = {k: v for k, v in os.environ.items() if not k.startswith("TUNESMITH_") and k != "DISCORD_TOKEN"}
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]))
        env.update(
            TUNESMITH_CONFIG=str(self.data_dir / "none.toml"),
            TUNESMITH_DATA_DIR=str(self.data_dir),
            TUNESMITH_ENABLED_COGS=repr(MUSIC_COGS).replace("'", '"'),
            TUNESMITH_USER_COOLDOWN_SECONDS="0",
            TUNESMITH_SERVER_QUEUE_CAP="1000",
            TUNESMITH_ENGINE_QUEUE_CAP="1000",
            TUNESMITH_PER_USER_QUEUE_CAP="100",
            TUNESMITH_BACKUP_INTERVAL_HOURS="0",
            TUNESMITH_LOG_LEVEL="INFO",
            TUNESMITH_SHARD_COUNT=str(self.shard_count),
            TUNESMITH_SHARD_IDS=str(shard_id),
            TUNESMITH_RAY_APP_NAME=f"scale-shard{shard_id}",
            TUNESMITH_DATABASE_URL=self.database_url,
            NO_COLOR="1",
        )
        env.update(self.extra_env)
        env[PLAYGROUND_TOKEN_ENV] = self.playground.bot_token
        return env

    async def start_shard(self, shard_id: int, timeout: float = 300) -> None:
        """Start (or start again) shard `shard_id`'s process and wait until it is connected and ready."""
        shard = self.shards[shard_id]
        before = self._ready_count(shard)
        log = open(shard.log_path, "ab")  # noqa: SIM115 - the child keeps it
        try:
            from bot.shards import _child_preexec  # the shard dies with this process, even if it is killed

            shard.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "--shard-child", "--playground-url", self.playground.url,
                cwd=PROJECT_ROOT, env=self.environment(shard_id), stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
                preexec_fn=_child_preexec,
            )  # fmt: skip
        finally:
            log.close()
        shard.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._ready_count(shard) <= before:
            if shard.process.returncode is not None:
                raise RuntimeError(f"shard {shard_id} exited with {shard.process.returncode}:\n{self.log_tail(shard_id)}")
            if loop.time() > deadline:
                raise TimeoutError(f"shard {shard_id} was not ready within {timeout} s:\n{self.log_tail(shard_id)}")
            await asyncio.sleep(0.2)

    def _ready_count(self, shard: ShardProcessHandle) -> int:
        try:
            return shard.log_path.read_text(errors="replace").count("Connected to the playground")
        except FileNotFoundError:
            return 0

    def log_tail(self, shard_id: int, lines: int = 40) -> str:
        try:
            return "\n".join(self.shards[shard_id].log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def kill_shard(self, shard_id: int) -> None:
        """SIGKILL: no clean-up at all (its engine processes die with it)."""
        process = self.shards[shard_id].process
        assert process is not None and process.returncode is None
        process.kill()

    async def wait_shard_gone(self, shard_id: int) -> None:
        process = self.shards[shard_id].process
        assert process is not None
        await process.wait()

    async def stop(self) -> None:
        for shard in self.shards:
            if shard.process is not None and shard.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    shard.process.send_signal(signal.SIGTERM)
        for shard in self.shards:
            if shard.process is not None:
                try:
                    await asyncio.wait_for(shard.process.wait(), 90)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        shard.process.kill()
                    await shard.process.wait()
        await self.playground.stop()

    # What users do ---------------------------------------------------------------------------------------

    def place(self, index: int) -> tuple[str, int, int]:
        """The user, guild and channel of the `index`th compose: users and guilds of every shard in turn."""
        all_guilds = [g for shard in sorted(self.guilds) for g in self.guilds[shard]]
        guild_id = all_guilds[index % len(all_guilds)]
        return self.users[index % len(self.users)], guild_id, self.playground.guild(guild_id).default_channel.id

    async def compose(self, index: int, *, bars: int, timeout: float, guild_id: int | None = None) -> Compose:
        user, placed, channel_id = self.place(index)
        if guild_id is not None:
            channel_id = self.playground.guild(guild_id).default_channel.id
        guild_id = placed if guild_id is None else guild_id
        outcome = Compose(index, user, guild_id, channel_id, shard_of(guild_id, self.shard_count), submitted=time.perf_counter())
        self.started.append(outcome)
        styles, moods = list(STYLES), list(MOODS)
        options = {"style": styles[index % len(styles)], "mood": moods[index % len(moods)], "bars": bars, "seed": index}
        return await self._follow(outcome, self.playground.run_command(user, "compose", options, channel_id=channel_id), timeout)

    async def click(self, user: str, message: Mapping[str, Any], custom_id: str, *, timeout: float) -> Compose:
        channel_id = int(message["channel_id"])
        guild = self.playground.state.guild_of(self.playground.state.channel(channel_id))
        assert guild is not None
        outcome = Compose(-1, user, guild.id, channel_id, shard_of(guild.id, self.shard_count), submitted=time.perf_counter())
        return await self._follow(outcome, self.playground.click(user, message, custom_id), timeout)

    async def _follow(self, outcome: Compose, started: Any, timeout: float) -> Compose:
        from bot.playground import InteractionFailed

        try:
            handle = await started
            await handle.acknowledged(timeout=10)
            outcome.acknowledged = True
            message = await final_message(handle, timeout)
        except InteractionFailed as exc:
            outcome.kind, outcome.detail = ("unanswered", str(exc))
            return outcome
        outcome.finished = time.perf_counter()
        outcome.message = message  # type: ignore[attr-defined]
        if is_track(message):
            outcome.kind, outcome.track_id = "track", track_id_of(message)
        elif message.get("flags", 0) & 64:
            outcome.kind, outcome.detail = "refused", message.get("content") or ""
        else:
            outcome.kind, outcome.detail = "error", message.get("content") or ""
        return outcome

    def restart_notices(self, compose: Compose) -> list[dict[str, Any]]:
        """The messages in the compose's channel telling its user that a restart cut their track short."""
        user_id = self.playground.state.user(compose.user).id
        return [m for m in self.playground.messages(compose.channel_id) if (m.get("content") or "").startswith(f"<@{user_id}> {RESTARTED}")]


async def add_guilds_on_shards(playground: Playground, shard_count: int, per_shard: int, *, prefix: str = "Server") -> dict[int, list[int]]:
    """Add guilds until each of `shard_count` shards holds at least `per_shard` of them (the first guild counts).
    Guild ids are snowflakes whose shard, (id >> 22) % shard_count, moves on every ~4 ms: guilds are made a few
    milliseconds apart so that they spread. Returns the guild ids by shard."""
    by_shard: dict[int, list[int]] = {shard: [] for shard in range(shard_count)}
    for guild in playground.guilds:
        by_shard[shard_of(guild.id, shard_count)].append(guild.id)
    made = 0
    while min(len(ids) for ids in by_shard.values()) < per_shard:
        guild = playground.add_guild(f"{prefix} {made}")
        made += 1
        by_shard[shard_of(guild.id, shard_count)].append(guild.id)
        await asyncio.sleep(0.003)
    return by_shard


def render_replica_pids() -> list[int]:
    """Processes of Ray Serve render replicas on this machine (their title names the deployment)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ServeReplica:" in title and "render" in title.lower():
            found.append(int(entry))
    return found


@dataclass
class ScenarioReport:
    composes: list[Compose] = field(default_factory=list)
    buttons: list[Compose] = field(default_factory=list)
    warmup: list[Compose] = field(default_factory=list)
    rated: dict[int, tuple[int, int]] = field(default_factory=dict)  # track -> (user id, score), acknowledged
    ratings_kept: int = 0
    tracks_before_kill: list[int] = field(default_factory=list)
    tracks_kept: int = 0
    media_kept: int = 0
    interrupted_jobs: dict[int, list[int]] = field(default_factory=dict)  # shard -> job ids marked interrupted
    jobs_in_flight_after: int = 0
    render_replicas_killed: int = 0
    bot_killed: int | None = None
    first_half_seconds: float = 0.0
    first_half_composes: int = 0

    @property
    def throughput(self) -> float:
        return self.first_half_composes / self.first_half_seconds if self.first_half_seconds else 0.0

    @property
    def p50_seconds(self) -> float:
        done = [c.seconds for c in self.composes if c.kind == "track" and c.seconds is not None]
        return statistics.median(done) if done else float("nan")


async def run_scenario(bot: ShardedBot, composes: int, *, bars: int = 4, kill_render: bool = False, kill_shard: int | None = 1,
                       timeout: float = 900) -> ScenarioReport:
    """The scenario in the module's docstring, on a started ShardedBot; returns what happened."""
    from storage import Storage

    report = ScenarioReport()
    # Warm-up: one compose per shard (first model call and first render), not counted.
    report.warmup = list(await asyncio.gather(*(bot.compose(10_000 + s, bars=bars, timeout=timeout, guild_id=bot.guilds[s][0]) for s in range(bot.shard_count))))
    first, second = composes // 2, composes - composes // 2

    started = time.perf_counter()
    tasks = [asyncio.create_task(bot.compose(i, bars=bars, timeout=timeout)) for i in range(first)]
    if kill_render:
        # Mid-run: once a few tracks are out, one render replica is killed; Serve replaces it and the render is retried.
        while sum(t.done() for t in tasks) < max(1, first // 4):
            await asyncio.sleep(0.05)
        pids = render_replica_pids()
        if pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pids[0], signal.SIGKILL)
            report.render_replicas_killed = 1
    halves = list(await asyncio.gather(*tasks))
    report.first_half_seconds = time.perf_counter() - started
    report.first_half_composes = first
    report.composes.extend(halves)

    async with await Storage.open(bot.database, bot.data_dir / "media") as storage:
        # Ratings: a reaction on each track; acknowledged once it is stored.
        for n, c in enumerate(c for c in halves if c.kind == "track"):
            user = bot.users[(n + 1) % len(bot.users)]
            score = 1 + n % 5
            await bot.playground.add_reaction(user, c.message, RATING_EMOJI[score - 1])  # type: ignore[attr-defined]
            report.rated[int(c.track_id)] = (bot.playground.state.user(user).id, score)  # type: ignore[arg-type]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stored = {t: await storage.ratings.scores(t) for t in report.rated}
            if all(stored[t].get(u) == s for t, (u, s) in report.rated.items()):
                break
            await asyncio.sleep(0.2)
        report.tracks_before_kill = [int(c.track_id) for c in halves if c.track_id is not None]  # type: ignore[arg-type]

        # The second half; once every one is acknowledged, one shard process is killed and started again.
        mark = len(bot.started)
        tasks = [asyncio.create_task(bot.compose(first + i, bars=bars, timeout=timeout)) for i in range(second)]
        if kill_shard is not None:
            while len(bot.started) < mark + second or not all(c.acknowledged or c.kind != "pending" for c in bot.started[mark:]):
                await asyncio.sleep(0.02)
            bot.kill_shard(kill_shard)
            report.bot_killed = kill_shard
            await bot.wait_shard_gone(kill_shard)
            await bot.start_shard(kill_shard)
        seconds = [c for c in await _second_half(bot, tasks, [first + i for i in range(second)], kill_shard)]
        told = [c for c in seconds if c.kind == "interrupted"]  # told that the restart cut it short: they run it again, as asked
        for c, again in zip(told, await asyncio.gather(*(bot.compose(c.index, bars=bars, timeout=timeout) for c in told))):
            c.retried = again
        report.composes.extend(seconds)

        # Buttons on tracks made before the kill, by each shard's process (the killed one's by its old incarnation).
        for shard in range(bot.shard_count):
            made = next((c for c in halves if c.shard == shard and c.kind == "track"), None)
            if made is not None:
                tid = int(made.track_id)  # type: ignore[arg-type]
                report.buttons.append(await bot.click(made.user, made.message, f"ts:variation:{tid}", timeout=timeout))  # type: ignore[attr-defined]

        # What is still there.
        report.tracks_kept = sum([await storage.tracks.get(t) is not None for t in report.tracks_before_kill])
        report.media_kept = 0
        for t in report.tracks_before_kill:
            track = await storage.tracks.get(t)
            if track is not None and all(p and storage.media.exists(p) for p in (track.midi_path, track.mp3_path, track.png_path)):
                report.media_kept += 1
        report.ratings_kept = sum([(await storage.ratings.scores(t)).get(u) == s for t, (u, s) in report.rated.items()])
        jobs = await storage.jobs.recent(limit=100_000)
        for job in jobs:
            if job.status == "interrupted":
                report.interrupted_jobs.setdefault(shard_of(job.guild_id, bot.shard_count), []).append(job.id)
        # A job is closed just after its track is posted: give the last ones a moment before counting what is left.
        deadline = time.monotonic() + 30
        while (left := len(await storage.jobs.in_flight())) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        report.jobs_in_flight_after = left
    return report


async def _second_half(bot: ShardedBot, tasks: list[asyncio.Task[Compose]], indices: list[int], killed: int | None) -> list[Compose]:
    """Wait for the second half's composes. Those the killed process had in flight can only be answered by the
    new process's notice: each is marked interrupted when its (user, channel) has a notice for it."""
    by_index = {c.index: c for c in bot.started if c.index in set(indices)}
    pending_killed = [(t, by_index[i]) for t, i in zip(tasks, indices) if by_index[i].shard == killed]
    others = [t for t, i in zip(tasks, indices) if by_index[i].shard != killed]
    results = {c.index: c for c in await asyncio.gather(*others)}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while loop.time() < deadline:
        left = [(t, c) for t, c in pending_killed if not t.done()]
        notices = sum(len(bot.restart_notices(c)) for c in {(c.user, c.channel_id): c for _, c in left}.values())
        if notices >= len(left):
            break
        await asyncio.sleep(0.5)
    used: dict[tuple[str, int], int] = {}
    for task, c in pending_killed:
        if task.done():
            results[c.index] = task.result()
            continue
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        pair = (c.user, c.channel_id)
        available = len(bot.restart_notices(c)) - used.get(pair, 0)
        if available > 0:
            used[pair] = used.get(pair, 0) + 1
            c.kind = "interrupted"
        else:
            c.kind = "unanswered"
        results[c.index] = c
    return [results[i] for i in indices]


__all__ = ["Compose", "ScenarioReport", "ShardedBot", "add_guilds_on_shards", "render_replica_pids", "run_scenario"]


# `tunesmith bench scale --shards N` ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardBenchRun:
    backend: str  # embedded or ray
    renderers: int  # per shard
    e2e_seconds: list[float]
    composes_per_second: float
    at_once: int
    answered: int


async def measure_sharded(data_dir: Path, *, backend: str, renderers: int, shards: int, composes: int, e2e: int, bars: int,
                          address: str | None, guilds_per_shard: int = 2, database_url: str = "") -> ShardBenchRun:
    """One configuration: `shards` shard processes; p50 end to end one compose at a time (the shards in turn),
    then `composes` at once across every server; each user's /compose from the command to its track."""
    env = {"TUNESMITH_RENDER_WORKERS": str(renderers), "TUNESMITH_LOG_LEVEL": "WARNING", "TUNESMITH_REQUEST_TIMEOUT_SECONDS": "900"}
    if backend == "ray":
        assert address is not None
        env.update(TUNESMITH_ENGINE_BACKEND="ray", TUNESMITH_RAY_ADDRESS=address)
    async with ShardedBot(data_dir, shard_count=shards, guilds_per_shard=guilds_per_shard, users=max(8, composes), env=env,
                          database_url=database_url) as bot:
        for s in range(shards):  # warm-up: each shard's first model call and first render
            await bot.compose(50_000 + s, bars=bars, timeout=600, guild_id=bot.guilds[s][0])
        singles = []
        for i in range(e2e):
            shard = i % shards
            c = await bot.compose(20_000 + i, bars=bars, timeout=600, guild_id=bot.guilds[shard][i // shards % len(bot.guilds[shard])])
            if c.kind == "track" and c.seconds is not None:
                singles.append(c.seconds)
        started = time.perf_counter()
        results = await asyncio.gather(*(bot.compose(30_000 + i, bars=bars, timeout=900) for i in range(composes)))
        elapsed = time.perf_counter() - started
        answered = sum(c.kind == "track" for c in results)
    return ShardBenchRun(backend, renderers, singles, answered / elapsed, composes, answered)


async def alternating_e2e(data_dir: Path, *, shards: int, e2e: int, bars: int, address: str, database_url: str = "") -> tuple[list[float], list[float]]:
    """p50 end to end, embedded against Ray at one renderer per shard, fairly on a shared machine: both sharded
    bots up at once (two playgrounds, 2 x `shards` processes), one compose at a time taking turns between them,
    so both see the same background load."""
    common = {"TUNESMITH_RENDER_WORKERS": "1", "TUNESMITH_LOG_LEVEL": "WARNING", "TUNESMITH_REQUEST_TIMEOUT_SECONDS": "900"}
    ray_env = {**common, "TUNESMITH_ENGINE_BACKEND": "ray", "TUNESMITH_RAY_ADDRESS": address}
    async with ShardedBot(data_dir / "alt-embedded", shard_count=shards, guilds_per_shard=2, users=8, env=common, database_url=database_url) as local, \
            ShardedBot(data_dir / "alt-ray", shard_count=shards, guilds_per_shard=2, users=8, env=ray_env, database_url=database_url) as remote:
        for bot in (local, remote):
            for s in range(shards):
                await bot.compose(50_000 + s, bars=bars, timeout=600, guild_id=bot.guilds[s][0])
        totals: dict[int, list[float]] = {0: [], 1: []}
        for i in range(2 * e2e):
            side, n = i % 2, i // 2
            bot = (local, remote)[side]
            shard = n % shards
            c = await bot.compose(20_000 + n, bars=bars, timeout=600, guild_id=bot.guilds[shard][n // shards % len(bot.guilds[shard])])
            if c.kind == "track" and c.seconds is not None:
                totals[side].append(c.seconds)
        return totals[0], totals[1]


async def bench_shards(shards: int, composes: int, e2e: int, bars: int, address: str | None, faults: int,
                       database_url: str = "") -> tuple[list[Any], dict[str, Any]]:
    """Embedded 1 renderer per shard, Ray 1 and 2 render replicas per shard, then the fault scenario on Ray
    (`faults` composes, a render replica and shard 1 killed); rows for print_table and the facts behind them."""
    import tempfile

    from engine.service.bench import BenchRow, latency_row

    cluster = None
    facts: dict[str, Any] = {"cores": os.cpu_count(), "load_before": os.getloadavg()[0]}
    if address is None:
        from engine.service.ray_backend import LocalRayCluster

        # Logical CPUs for every shard's model replica and up to two render replicas each, on a head and a worker node.
        cpus = shards * 3 / 2
        cluster = LocalRayCluster(head_cpus=cpus, workers=1, worker_cpus=cpus)
        address = cluster.start()
    runs: list[ShardBenchRun] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tunesmith-bench-shards-") as folder:
            alternating = await alternating_e2e(Path(folder), shards=shards, e2e=e2e, bars=bars, address=address, database_url=database_url)
            for n, (backend, renderers) in enumerate([("embedded", 1), ("ray", 1), ("ray", 2)] if composes else []):
                runs.append(await measure_sharded(Path(folder) / f"run{n}", backend=backend, renderers=renderers, shards=shards,
                                                  composes=composes, e2e=0, bars=bars, address=address, database_url=database_url))
            report = None
            if faults:
                env = {"TUNESMITH_ENGINE_BACKEND": "ray", "TUNESMITH_RAY_ADDRESS": address, "TUNESMITH_RENDER_WORKERS": "1",
                       "TUNESMITH_LOG_LEVEL": "WARNING", "TUNESMITH_REQUEST_TIMEOUT_SECONDS": "900"}
                async with ShardedBot(Path(folder) / "faults", shard_count=shards, guilds_per_shard=4, users=40, env=env,
                                      database_url=database_url) as bot:
                    report = await run_scenario(bot, faults, bars=bars, kill_render=True, kill_shard=1)
    finally:
        if cluster is not None:
            cluster.shutdown()
    facts["load_after"] = os.getloadavg()[0]
    local_s, ray_s = alternating
    rows = [
        latency_row(f"end to end, 1 at a time, embedded, 1 render worker per shard ({shards} shards)", local_s),
        latency_row(f"end to end, 1 at a time, Ray, 1 render replica per shard ({shards} shards)", ray_s),
    ]
    overhead = statistics.median(ray_s) / statistics.median(local_s) - 1
    facts["overhead"] = overhead
    rows.append(BenchRow("Ray overhead on p50 end to end, 1 replica (the two bots taking turns)", value=f"{overhead:+.1%}", samples=len(ray_s),
                         target="≤ 10%: " + ("met" if overhead <= 0.10 else "missed"), key="scale.overhead"))
    for run in runs:
        name = "embedded, 1 render worker" if run.backend == "embedded" else f"Ray, {run.renderers} render replica{'s' if run.renderers > 1 else ''}"
        rows.append(BenchRow(f"throughput, {run.at_once} at once over {shards} shards, {name} per shard",
                             value=f"{run.composes_per_second:.2f} composes/s", samples=run.answered,
                             key=f"scale.throughput.{run.backend.lower()}_{run.renderers}"))
    if runs:
        facts["ray_speedup"] = runs[2].composes_per_second / runs[1].composes_per_second
    if report is not None:
        answered = sum(c.answered_with_track for c in report.composes)
        interrupted = sum(c.kind == "interrupted" for c in report.composes)
        rows.append(BenchRow(f"faults: {faults} composes, render replica killed {report.render_replicas_killed}x, shard 1 SIGKILLed",
                             value=f"{answered}/{faults} answered with a track ({interrupted} told to retry, did)", samples=faults,
                             key="scale.faults.answered"))
        rows.append(BenchRow("faults: acknowledged ratings / finished tracks (with files) kept",
                             value=f"{report.ratings_kept}/{len(report.rated)} / {report.media_kept}/{len(report.tracks_before_kill)}",
                             key="scale.faults.kept"))
        facts["faults"] = report
    return rows, facts
