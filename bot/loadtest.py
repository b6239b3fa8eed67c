"""The whole bot under load, through the playground: end-to-end latency, acknowledgements with many composes in
flight, event-loop lag during a retrain, sustained composes per second, and the load test.

Everything runs in this process on loopback: the playground (Discord's side), the real discord.py bot with its
engine service (model thread + render worker processes), and simulated users; `ack_burst_in_own_process`
measures the acknowledgement burst once more with the bot in a process of its own, as it is against Discord. `tunesmith bench e2e` and
`tunesmith bench load` print the results; tests/bot/test_loadtest.py runs a small load test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.client import TunesmithBot
from bot.config import Settings
from bot.playground import InteractionHandle, Playground, configure_discord
from engine.service.bench import BenchRow, latency_row, memory_rows
from engine.service.lag import LoopLagMonitor
from engine.service.memory import resident_bytes
from engine.labels import MOODS, STYLES

MiB = 1024 * 1024
ACK_DEADLINE_S = 3.0
READY_TIMEOUT_S = 300.0  # the engine loads its model and starts its workers first: slow on a loaded machine
# Arrivals measured per compose kept in flight: 100 acknowledgements for 50 in flight, so the p99 is not just the maximum.
STEADY_ARRIVALS_PER_IN_FLIGHT = 2
RATING_EMOJI = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"]
MUSIC_COGS = ["plugins", "settings", "compose", "rating", "library", "recommend", "privacy", "retrain"]


class ErrorCounter(logging.Handler):
    """Counts ERROR (and worse) log records while a run is on: a load test must log none."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Outcome:
    """What one simulated compose got."""

    user: str
    ack_seconds: float | None = None
    ack_type: int | None = None  # the interaction callback: 5 deferred ("thinking"), 4 a message (a refusal)
    total_seconds: float | None = None
    kind: str = "pending"  # track, busy, error, unanswered
    message: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def running_bot(data_dir: Path, users: int = 0, ack_deadline: float = ACK_DEADLINE_S, **settings_overrides: Any) -> AsyncIterator[tuple[Playground, TunesmithBot]]:
    """A playground with `users` extra members and the real bot (engine included) connected to it."""
    overrides: dict[str, Any] = dict(enabled_cogs=MUSIC_COGS, user_cooldown_seconds=0, server_queue_cap=1000, log_level="WARNING")
    overrides.update(settings_overrides)
    settings = Settings(data_dir=data_dir, **overrides)
    playground = Playground(ack_deadline=ack_deadline)
    await playground.start()
    for i in range(users):
        playground.add_user(f"user{i:03d}", admin=False)
    configure_discord(playground.url)
    bot = TunesmithBot(settings, sync_guild_id=playground.guild_id, guild_ready_timeout=0.05, reidentify_delay=0)
    task = asyncio.create_task(bot.start(playground.bot_token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), timeout=READY_TIMEOUT_S)
        yield playground, bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception):
            await task
        await playground.stop()


async def final_message(handle: InteractionHandle, timeout: float) -> dict[str, Any]:
    """The interaction's last message: the track, or the error/busy text (queue positions are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await handle.followup(timeout=max(0.1, deadline - time.monotonic()))
        content = message.get("content") or ""
        if len(message.get("attachments", [])) >= 3 or not content.startswith(("⏳", "🎼")):
            return message


def classify(message: dict[str, Any]) -> str:
    if len(message.get("attachments", [])) >= 3:
        return "track"
    content = (message.get("content") or "").lower()
    if "try again in" in content or "busy" in content or "on the way" in content:
        return "busy"
    return "error"


async def compose_once(playground: Playground, user: str, options: dict[str, Any], timeout: float = 300, channel_id: int | None = None) -> Outcome:
    outcome = Outcome(user)
    start = time.perf_counter()
    handle = await playground.run_command(user, "compose", options, channel_id=channel_id)
    try:
        outcome.ack_type = (await handle.acknowledged())["type"]  # waits out the playground's deadline
        outcome.ack_seconds = time.perf_counter() - start
        outcome.message = await final_message(handle, timeout)
        outcome.total_seconds = time.perf_counter() - start
        outcome.kind = classify(outcome.message)
    except (TimeoutError, asyncio.TimeoutError):
        outcome.kind = "unanswered"
    return outcome


async def compose_burst(playground: Playground, users: list[str], bars: int, channel_id: int | None = None) -> list[Outcome]:
    """One /compose from each user, all sent at once (seeds 100, 101, ...), each followed to its answer."""
    return list(await asyncio.gather(*(compose_once(playground, user, request_options(100 + i, bars), channel_id=channel_id)
                                       for i, user in enumerate(users))))


async def compose_steady(playground: Playground, users: list[str], bars: int, arrivals: int, channel_id: int | None = None) -> list[Outcome]:
    """Keep one compose in flight per user (`len(users)` in all) until `arrivals` more have been sent: each time
    a compose is answered, its user sends the next. Returns the outcomes of those later arrivals, each
    acknowledged while the others are queued, generating or rendering (the opening burst is not among them)."""
    seeds = iter(range(1000, 1000 + len(users) + arrivals))
    later: list[Outcome] = []
    sent = 0

    async def user_loop(user: str) -> None:
        nonlocal sent
        await compose_once(playground, user, request_options(next(seeds), bars), channel_id=channel_id)
        while sent < arrivals:
            sent += 1  # counted before the await, so no more than `arrivals` are sent
            later.append(await compose_once(playground, user, request_options(next(seeds), bars), channel_id=channel_id))

    await asyncio.gather(*(user_loop(user) for user in users))
    return later


def request_options(i: int, bars: int = 8) -> dict[str, Any]:
    style = STYLES[i % len(STYLES)]
    mood = list(MOODS)[(i // len(STYLES)) % len(MOODS)]
    return {"style": style, "mood": mood, "bars": bars, "seed": i}


@dataclass
class LoadReport:
    outcomes: list[Outcome]
    ratings_made: int
    ratings_stored: int
    errors_logged: list[str]
    seconds: float

    @property
    def late_acks(self) -> int:
        return sum(1 for o in self.outcomes if o.ack_seconds is None or o.ack_seconds > ACK_DEADLINE_S)

    @property
    def unacknowledged(self) -> int:
        """Composes whose interaction the bot did not acknowledge (before the playground's deadline)."""
        return sum(1 for o in self.outcomes if o.ack_type is None)

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)

    def rows(self) -> list[BenchRow]:
        acks = [o.ack_seconds for o in self.outcomes if o.ack_seconds is not None]
        totals = [o.total_seconds for o in self.outcomes if o.kind == "track" and o.total_seconds is not None]
        return [
            latency_row("load test: acknowledgement", acks, f"all < {ACK_DEADLINE_S:.0f} s", key="load.ack"),
            latency_row("load test: compose to track", totals, key="load.compose_to_track"),
            BenchRow("load test: answers", value=f"{self.count('track')} tracks, {self.count('busy')} busy, {self.count('error')} errors, "
                     f"{self.count('unanswered')} unanswered of {len(self.outcomes)}", target="tracks or busy only", key="load.answers"),
            BenchRow("load test: late acknowledgements", value=str(self.late_acks), target="0", key="load.late_acks"),
            BenchRow("load test: ratings stored", value=f"{self.ratings_stored} of {self.ratings_made}", target="all", key="load.ratings_stored"),
            BenchRow("load test: errors logged", value=str(len(self.errors_logged)), target="0", key="load.errors_logged"),
            BenchRow("load test: composes per second", value=f"{self.count('track') / self.seconds:.2f}", samples=self.count("track"),
                     key="load.composes_per_second"),
        ]


async def load_test(composes: int = 1000, users: int = 50, concurrency: int = 50, bars: int = 8, data_dir: Path | None = None, seed: int = 0,
                    ack_deadline: float = ACK_DEADLINE_S) -> LoadReport:
    """`composes` /compose from `users` simulated users, at most `concurrency` at once; users rate what they get.
    `ack_deadline`: the playground's (Discord's 3 s by default; the test suite, which asserts behaviour and not
    speed, gives a generous one)."""
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        async with running_bot(Path(data_dir or tmp), users=users, ack_deadline=ack_deadline) as (playground, bot):
            names = [f"user{i:03d}" for i in range(users)]
            gate = asyncio.Semaphore(concurrency)
            ratings: dict[tuple[int, str], int] = {}

            async def one(i: int) -> Outcome:
                async with gate:
                    user = names[i % users]
                    outcome = await compose_once(playground, user, request_options(i, bars))
                    if outcome.kind == "track":
                        rater = rng.choice(names)
                        score = rng.randint(1, 5)
                        await playground.add_reaction(rater, outcome.message, RATING_EMOJI[score - 1])
                        ratings[(int(outcome.message["id"]), rater)] = score
                    return outcome

            start = time.perf_counter()
            outcomes = await asyncio.gather(*(one(i) for i in range(composes)))
            seconds = time.perf_counter() - start
            storage = bot.services.storage
            stored = 0
            for _ in range(50):  # reactions arrive over the gateway: give the last ones a moment
                stored = 0
                for (message_id, rater), score in ratings.items():
                    track = await storage.tracks.by_message(message_id)
                    rating = None if track is None else await storage.ratings.get(playground.user(rater).id, track.id)
                    stored += rating is not None and rating.score == score
                if stored == len(ratings):
                    break
                await asyncio.sleep(0.2)
    logging.getLogger().removeHandler(errors)
    return LoadReport(list(outcomes), len(ratings), stored, [r.getMessage() for r in errors.records], seconds)


async def bench_e2e(n: int = 20, in_flight: int = 50, bars: int = 8, retrain_steps: int = 100) -> list[BenchRow]:
    """End to end one at a time, acknowledgements with `in_flight` composes at once, loop lag during a retrain, memory."""
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_bot(Path(tmp), users=in_flight) as (playground, bot):
            await compose_once(playground, "bob", request_options(0, bars))  # warm-up: first render loads fonts
            singles = [await compose_once(playground, "bob", request_options(i, bars)) for i in range(1, n + 1)]
            rows.append(latency_row(f"end to end through the playground, {bars} bars", [o.total_seconds for o in singles if o.total_seconds], "p50 <= 1.3 x floor, p99 <= 1 s",
                                    key="e2e.end_to_end"))
            rows.append(latency_row("acknowledgement, one at a time", [o.ack_seconds for o in singles if o.ack_seconds], key="e2e.ack"))

            start = time.perf_counter()
            burst = await compose_burst(playground, [f"user{i:03d}" for i in range(in_flight)], bars)
            elapsed = time.perf_counter() - start
            rows.append(latency_row(f"acknowledgement, {in_flight} composes arriving at once", [o.ack_seconds for o in burst if o.ack_seconds],
                                    "p99 <= 100 ms", key="e2e.ack_burst"))
            tracks = sum(o.kind == "track" for o in burst)
            rows.append(BenchRow(f"composes per second, {in_flight} at once", value=f"{tracks / elapsed:.2f}", samples=tracks, key="e2e.composes_per_second"))
            steady = await compose_steady(playground, [f"user{i:03d}" for i in range(in_flight)], bars, arrivals=STEADY_ARRIVALS_PER_IN_FLIGHT * in_flight)
            rows.append(latency_row(f"acknowledgement of a new compose with {in_flight} in flight", [o.ack_seconds for o in steady if o.ack_seconds],
                                    "p99 <= 100 ms", key="e2e.ack_in_flight"))
            engine = bot.services.engine
            rows.append(BenchRow("resident memory, bot process (with the playground)", value=f"{resident_bytes() / MiB:.0f} MB", target="<= 600 MB",
                                 key="memory.bot"))
            rows += [r for r in memory_rows(engine.render_worker_pids(), engine.model_pid()) if r.key != "memory.bot"]

            # Ratings for the retrain, then the event loop's lag while it runs (composes keep going meanwhile).
            # Three members rate (a server's taste needs ratings from 3+ members).
            for o in burst[:12]:
                if o.kind == "track":
                    for member in ("alice", "bob", "carol"):
                        await playground.add_reaction(member, o.message, RATING_EMOJI[random.Random(f"{member}{o.message['id']}").randint(0, 4)])
            await asyncio.sleep(1)
            monitor = LoopLagMonitor(interval_ms=10)
            monitor.start()
            handle = await playground.run_command("alice", "retrain start", {"steps": retrain_steps})
            await handle.acknowledged()
            done = await playground.wait_for(lambda e: e.kind.startswith("message") and any(
                m in str(e.data) for m in ("its own taste", "it is not used", "Promoted", "not promoted", "Retrain failed", "cancelled")), timeout=900)
            lag = await monitor.stop()
            rows.append(BenchRow("event-loop lag during a retrain", lag.p50_ms, lag.p99_ms, samples=lag.samples, target="p99 <= 50 ms", key="e2e.retrain_lag",
                                 value="retrain finished" if "Retrain failed" not in str(done.data) else "retrain FAILED"))
    rows += await ack_burst_in_own_process(in_flight, bars)
    return rows


async def ack_burst_in_own_process(in_flight: int = 50, bars: int = 8, warm_up: int = 20) -> list[BenchRow]:
    """The acknowledgement rows again with the bot in a process of its own (`tunesmith run` connected to the
    playground, as a shard of one): Discord's side, the playground, then no longer shares the bot's event loop,
    as Discord does not. Same machine, so it still shares the CPU."""
    from bot.scale import ShardedBot

    with tempfile.TemporaryDirectory() as tmp:
        # Logging as the in-process bot of bench_e2e does (WARNING): the scale scenario's shards log at INFO.
        async with ShardedBot(Path(tmp), shard_count=1, guilds_per_shard=1, users=in_flight, env={"TUNESMITH_LOG_LEVEL": "WARNING"}) as sharded:
            playground = sharded.playground
            channel_id = playground.guild(sharded.guilds[0][0]).default_channel.id
            for i in range(warm_up):
                await compose_once(playground, sharded.users[0], request_options(i, bars), channel_id=channel_id)
            burst = await compose_burst(playground, sharded.users, bars, channel_id=channel_id)
            steady = await compose_steady(playground, sharded.users, bars, arrivals=STEADY_ARRIVALS_PER_IN_FLIGHT * in_flight, channel_id=channel_id)
    return [latency_row(f"acknowledgement, {in_flight} composes arriving at once, bot in its own process", [o.ack_seconds for o in burst if o.ack_seconds],
                        "p99 <= 100 ms", key="e2e.ack_burst_own_process"),
            latency_row(f"acknowledgement of a new compose with {in_flight} in flight, bot in its own process", [o.ack_seconds for o in steady if o.ack_seconds],
                        "p99 <= 100 ms", key="e2e.ack_in_flight_own_process")]


def print_rows(rows: list[BenchRow], title: str) -> None:
    from engine.service.bench import print_table

    print_table(rows, title)


__all__ = ["LoadReport", "Outcome", "ack_burst_in_own_process", "bench_e2e", "compose_steady", "load_test", "running_bot"]
