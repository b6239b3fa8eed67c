"""The model registry: training runs, promotion and rollback of the shared model and of each server's taste.

Cogs call this service and only translate between Discord and it (cogs/retrain.py). It owns:

- runs: `start_taste` / `start_base` export the ratings, start the trainer (engine.taste.train or engine.finetune)
  in its own process and follow its typed events (engine.training_events). Every run is recorded (storage.runs)
  when it starts and closed when it ends: finished, failed (the trainer refused, or died), cancelled, or
  interrupted (the bot stopped). A run the bot never saw end, because the bot itself was killed, is found by
  `recover` at the next start-up: its orphaned trainer is stopped, the record says interrupted, and a candidate
  the trainer had already written is registered so that `/model activate` can put it in use.
- versions, always in one order: register the candidate, swap the model in the engine, then activate the record.
  A swap that fails leaves the records as they were (the candidate stays registered, inactive).

One run at a time on the whole bot: training shares the machine with composing for every server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.engine import active_checkpoint
from bot.errors import UserFacingError
from engine.service import EngineFailure
from engine.training_events import Failed, Finished, Progress, parse
from storage import ModelVersion, ModelVersionError
from storage.export import RatingExport, export_ratings, remove_user_from_export
from storage.runs import RunKind, RunStatus, TrainingRun, TrainingRunError, TrainingRunRepository
from storage.taste import TasteModelRepository, TasteVersion, TasteVersionError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

MIN_RATINGS = 5
PROGRESS_EVERY_SECONDS = 2.0  # how often a run's progress is recorded and shown
STOP_WAIT_SECONDS = 10.0  # how long a shutdown waits for a killed run to be recorded
TRAINER_MODULES = {"taste": "engine.taste.train", "base": "engine.finetune"}


@dataclass
class ActiveRun:
    """The run in progress: this server's taste (kind "taste") or the shared model (kind "base")."""

    record_id: int
    kind: RunKind
    started_by: int
    process: asyncio.subprocess.Process
    out_dir: Path
    guild_id: int | None = None
    base_version: str | None = None
    started: float = field(default_factory=time.monotonic)
    last: Progress | None = None
    cancelled: bool = False  # an admin stopped it
    stopping: bool = False  # the bot is stopping

    @property
    def what(self) -> str:
        return "this server's taste" if self.kind == "taste" else "the shared model"

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class StartedRun:
    run: ActiveRun
    ratings: int
    raters: int
    largest_share: float  # the most of the rating weight one member carries


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, for the admin. `version` is the candidate it registered (if any); `active` whether it is
    in use now; `reason` the trainer's verdict; `error` why it failed or could not be loaded."""

    status: RunStatus
    kind: RunKind
    version: str | None = None
    active: bool = False
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class RunObserver(Protocol):
    """Where a run's progress shows (the cog's progress message)."""

    async def progress(self, run: ActiveRun) -> None: ...

    async def ended(self, run: ActiveRun, outcome: RunOutcome) -> None: ...


class ModelRegistry:
    def __init__(self, services: Services) -> None:
        self._services = services
        self.current: ActiveRun | None = None
        self._task: asyncio.Task[None] | None = None
        # Held from the busy check to the run being recorded, so two starts cannot both pass the check.
        self._starting = asyncio.Lock()

    @property
    def _storage(self) -> Any:
        return self._services.storage

    @property
    def runs(self) -> TrainingRunRepository:
        return TrainingRunRepository(self._storage.db)

    @property
    def tastes(self) -> TasteModelRepository:
        return TasteModelRepository(self._storage.db)

    @property
    def serving_version(self) -> str | None:
        return getattr(self._services.engine, "model_version", None)

    # Runs -----------------------------------------------------------------------------------------------

    def refuse_if_busy(self, guild_id: int | None) -> None:
        run = self.current
        if run is None:
            return
        if run.kind == "taste" and run.guild_id == guild_id:
            raise UserFacingError(f"A retrain of this server's taste is already running (started by <@{run.started_by}>). Use /retrain cancel to stop it.")
        raise UserFacingError("Another retrain is running on this bot right now (training shares the machine with composing). Please try again in a few minutes.")

    async def start_taste(self, started_by: int, guild_id: int, steps: int, observer: RunObserver) -> StartedRun:
        """Learn this server's taste from its ratings only. Raises UserFacingError when it cannot start."""
        async with self._starting:
            self.refuse_if_busy(guild_id)  # another start may have run while this one waited
            settings = self._services.settings
            export, raters = await self._enough_ratings(guild_id, "This server has only", " of this server", "learning its taste needs", "the server's")
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
            out_dir = settings.models_dir / f"taste-{guild_id}-{stamp}"  # beside the shared model's runs: /forget-me scrubs both
            ratings_path = await self._save_export(export, out_dir)
            arguments = ["--steps", str(steps), "--guild", str(guild_id)]
            run = await self._spawn("taste", started_by, guild_id, out_dir, ratings_path, arguments, observer)
            log.info("Taste retrain started", extra={"guild": guild_id, "ratings": len(export), "steps": steps, "by": started_by})
            return StartedRun(run, len(export), raters, max(settings.retrain_max_member_share, 1 / raters))

    async def _enough_ratings(self, guild_id: int | None, have: str, of_whom: str, needs: str, decides: str) -> tuple[RatingExport, int]:
        """The ratings a run learns from (one server's, or every server's for None) and how many members gave
        them; UserFacingError when there are too few of either. The phrases name what the run is for."""
        export = await export_ratings(self._storage.db, guild_id=guild_id)
        if len(export) < MIN_RATINGS:
            raise UserFacingError(f"{have} {len(export)} ratings so far; {needs} at least {MIN_RATINGS}. Rate some tracks with 1️⃣–5️⃣ first.")
        raters = len(set(export.user_ids.tolist()))
        minimum = self._services.settings.retrain_min_raters
        if raters < minimum:
            raise UserFacingError(
                f"Only {raters} member(s){of_whom} have rated tracks so far; {needs} ratings from at least {minimum} "
                f"different members, so that one person's taste does not decide {decides}. Ask others to rate with 1️⃣–5️⃣ first."
            )
        return export, raters

    async def start_base(self, started_by: int, steps: int, observer: RunObserver) -> StartedRun:
        """Fine-tune the shared model every server uses on every server's ratings (owners only: the cog checks)."""
        async with self._starting:
            self.refuse_if_busy(None)
            settings = self._services.settings
            export, raters = await self._enough_ratings(None, "There are only", "", "retraining needs", "the model")
            out_dir = settings.models_dir / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
            ratings_path = await self._save_export(export, out_dir)
            run = await self._spawn("base", started_by, None, out_dir, ratings_path, ["--vae-steps", str(steps), "--gan-steps", str(steps)], observer)
            log.info("Base retrain started", extra={"ratings": len(export), "steps": steps, "by": started_by})
            return StartedRun(run, len(export), raters, max(settings.retrain_max_member_share, 1 / raters))

    async def _save_export(self, export: RatingExport, out_dir: Path) -> Path:
        ratings_path = out_dir / "ratings.npz"
        await asyncio.to_thread(export.save, ratings_path)
        # Someone who used /forget-me after the export was read but before it was written: their scrub found no file.
        for gone in [u for u in set(export.user_ids.tolist()) if await self._storage.users.get(u) is None]:
            await asyncio.to_thread(remove_user_from_export, ratings_path, gone)
        return ratings_path

    async def _spawn(self, kind: RunKind, started_by: int, guild_id: int | None, out_dir: Path, ratings_path: Path, arguments: list[str],
                     observer: RunObserver) -> ActiveRun:
        settings = self._services.settings
        base_version = self.serving_version
        command = [sys.executable, "-m", TRAINER_MODULES[kind], "--ratings", str(ratings_path), "--out", str(out_dir), *arguments,
                   "--min-raters", str(settings.retrain_min_raters), "--max-member-share", str(settings.retrain_max_member_share)]
        base = await active_checkpoint(settings, self._storage)
        if base is not None:
            command += ["--base", str(base)]
        # Recorded before the trainer starts: whatever happens to the bot from here on, the next start-up finds the run.
        try:
            record = await self.runs.start(kind, guild_id, started_by, str(out_dir), base_version=base_version)
        except TrainingRunError:
            raise UserFacingError("Another retrain is recorded as running on this bot. Please try again in a few minutes.") from None
        try:
            process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            await self.runs.end(record.id, "failed", f"the training process could not start: {exc}")
            raise UserFacingError(f"The training process could not start ({exc}).") from None
        await self.runs.set_pid(record.id, process.pid)
        self.current = ActiveRun(record.id, kind, started_by, process, out_dir, guild_id=guild_id, base_version=base_version)
        self._task = asyncio.create_task(self._follow(self.current, observer), name=f"retrain-{record.id}")
        return self.current

    async def show_progress_at(self, run: ActiveRun, channel_id: int | None, message_id: int | None) -> None:
        """Where the run's progress message is, so a restart can still close it."""
        await self.runs.set_message(run.record_id, channel_id, message_id)

    def cancel(self, run: ActiveRun) -> None:
        """Stop the run; nothing changes (the follow-up records it cancelled)."""
        run.cancelled = True
        _kill(run.process)

    async def stop(self) -> None:
        """The bot is stopping: kill the run and wait (a while) for it to be recorded as interrupted."""
        run, task = self.current, self._task
        if run is None:
            return
        run.stopping = True
        _kill(run.process)
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_SECONDS)
            except (TimeoutError, asyncio.CancelledError, Exception):
                log.warning("The retrain was not recorded before shutdown", exc_info=True)

    async def last_run(self, guild_id: int | None, *, include_shared: bool) -> TrainingRun | None:
        return await self.runs.last(guild_id, include_shared=include_shared)

    async def _follow(self, run: ActiveRun, observer: RunObserver) -> None:
        """Read the trainer's events, record and show progress, and act on its verdict."""
        result: Finished | None = None
        error: str | None = None
        outcome: RunOutcome | None = None
        last_shown = 0.0
        assert run.process.stdout is not None
        try:
            async for raw in run.process.stdout:
                event = parse(raw)
                if isinstance(event, Progress):
                    run.last = event
                    if time.monotonic() - last_shown >= PROGRESS_EVERY_SECONDS:
                        last_shown = time.monotonic()
                        await self.runs.record_progress(run.record_id, event.fields())
                        await observer.progress(run)
                elif isinstance(event, Finished):
                    result = event
                    await self.runs.record_result(run.record_id, event.fields())  # before anything acts on it
                elif isinstance(event, Failed):
                    error = event.message
            returncode = await run.process.wait()
            if run.stopping:
                outcome = RunOutcome("interrupted", run.kind, error="the bot stopped while it ran")
            elif run.cancelled:
                outcome = RunOutcome("cancelled", run.kind)
            elif result is not None:
                outcome = await (self._conclude_taste(run, result) if run.kind == "taste" else self._conclude_base(run, result))
            else:
                stderr = (await run.process.stderr.read()).decode(errors="replace")[-500:] if run.process.stderr else ""
                log.error("Retrain failed", extra={"error": error, "stderr": stderr, "kind": run.kind, "returncode": returncode})
                outcome = RunOutcome("failed", run.kind, error=error or _stopped_unexpectedly(returncode))
        except asyncio.CancelledError:
            raise  # the bot's loop is going away without stopping the registry: the next start-up recovers the run
        except Exception:
            log.exception("Retrain follow-up failed")
            outcome = RunOutcome("failed", run.kind, error="it failed on our side (logged)")
        finally:
            if self.current is run:
                self.current = None
        try:
            await self.runs.end(run.record_id, outcome.status, describe(outcome))
        except Exception:
            log.exception("Could not record how the retrain ended")
        await observer.ended(run, outcome)

    async def _conclude_taste(self, run: ActiveRun, result: Finished) -> RunOutcome:
        assert run.guild_id is not None
        metrics = dict(result.metrics)
        await self._register_taste(run.guild_id, result, run.base_version)
        await self.runs.record_candidate(run.record_id, result.version)
        if not result.promote:
            return RunOutcome("finished", "taste", result.version, False, result.reason, metrics)
        await self.tastes.activate(run.guild_id, result.version)
        await self.runs.record_candidate(run.record_id, result.version, activated=True)
        return RunOutcome("finished", "taste", result.version, True, result.reason, metrics)

    async def _register_taste(self, guild_id: int, result: Finished, base_version: str | None) -> TasteVersion:
        base = str(result.metrics.get("base_version") or base_version or "")
        return await self.tastes.register(guild_id, result.version, result.path, base, {**result.metrics, "promote": result.promote, "reason": result.reason})

    async def _conclude_base(self, run: ActiveRun, result: Finished) -> RunOutcome:
        metrics = dict(result.metrics)
        if not result.promote:
            return RunOutcome("finished", "base", None, False, result.reason, metrics)
        await self._storage.models.register(result.version, result.path, metrics)
        await self.runs.record_candidate(run.record_id, result.version)
        try:
            await self.activate_shared(result.version)
        except UserFacingError as exc:
            return RunOutcome("failed", "base", result.version, False, result.reason, metrics, error=exc.message)
        await self.runs.record_candidate(run.record_id, result.version, activated=True)
        return RunOutcome("finished", "base", result.version, True, result.reason, metrics)

    async def recover(self) -> list[TrainingRun]:
        """At start-up: close the runs a previous bot process never saw end (it was killed). Their trainers, if
        still running, are stopped; a candidate they had written is registered (not activated); each is recorded
        interrupted. Returns them as recorded, for their progress messages to be closed."""
        closed = []
        for record in await self.runs.running():
            if record.pid is not None and _is_our_trainer(record.pid, record.out_dir):
                log.warning("Stopping a trainer the previous bot process left running", extra={"pid": record.pid, "run": record.id})
                _kill_pid(record.pid)
            outcome = "the bot stopped while it ran"
            if record.result is not None:
                outcome += await self._keep_candidate(record)
            closed.append(await self.runs.end(record.id, "interrupted", outcome))
        if closed:
            log.warning("Training runs interrupted by the last shutdown", extra={"count": len(closed)})
        return closed

    async def _keep_candidate(self, record: TrainingRun) -> str:
        try:
            result = Finished.from_fields(dict(record.result or {}))
        except (KeyError, TypeError, ValueError):
            return ""
        if not Path(result.path).is_file():
            return ""
        if record.kind == "taste" and record.guild_id is not None:
            if not any(v.version == result.version for v in await self.tastes.history(record.guild_id)):
                await self._register_taste(record.guild_id, result, record.base_version)
        elif record.kind == "base":
            if not result.promote:
                return ""
            if await self._storage.models.get(result.version) is None:
                await self._storage.models.register(result.version, result.path, result.metrics)
        else:
            return ""
        await self.runs.record_candidate(record.id, result.version)
        return f"; its candidate {result.version} was kept, not in use"

    # Versions: register, swap, activate ------------------------------------------------------------------

    async def activate_shared(self, version: str) -> ModelVersion:
        """Serve a registered version of the shared model: load it in the engine first, then activate its record.
        If it cannot be loaded, the records do not change (UserFacingError says why)."""
        target = await self._storage.models.get(version)
        if target is None:
            raise UserFacingError(f"There is no model version {version!r}.")
        if target.active and self.serving_version in (None, version):
            return target
        await self._swap(target)
        activated = await self._storage.models.activate(version)
        await self.runs.mark_activated(version, None)
        return activated

    async def rollback_shared(self) -> ModelVersion:
        """Serve the version that was active before the current one: load it, then roll the records back."""
        current = await self._storage.models.active()
        if current is None:
            raise UserFacingError("No model version is active, so there is nothing to roll back.")
        if current.previous_version is None:
            raise UserFacingError(f"Model version {current.version!r} has no earlier version to roll back to.")
        previous = await self._storage.models.get(current.previous_version)
        if previous is None:
            raise UserFacingError(f"There is no model version {current.previous_version!r}.")
        await self._swap(previous, rollback=True)
        try:
            return await self._storage.models.rollback()
        except ModelVersionError as exc:
            raise UserFacingError(str(exc)) from None

    async def _swap(self, version: ModelVersion, *, rollback: bool = False) -> None:
        engine = self._services.engine
        if engine is None:
            return
        try:
            await engine.swap_model(Path(version.path))
        except EngineFailure as exc:
            what = "Nothing was rolled back" if rollback else "Nothing changed"
            raise UserFacingError(f"The model {version.version} could not be loaded ({exc}). {what}: the current model keeps serving.") from None

    async def activate_taste(self, guild_id: int, version: str) -> TasteVersion:
        """Put one of this server's registered tastes in use (a candidate a run left unused, say)."""
        try:
            taste = await self.tastes.activate(guild_id, version)
        except TasteVersionError as exc:
            raise UserFacingError(str(exc)) from None
        await self.runs.mark_activated(version, guild_id)
        return taste

    async def rollback_taste(self, guild_id: int) -> TasteVersion | None:
        """This server's previous taste; None when that is no taste (the shared model as it is)."""
        try:
            return await self.tastes.rollback(guild_id)
        except TasteVersionError as exc:
            raise UserFacingError(str(exc)) from None

    async def unused_candidates(self, guild_id: int | None) -> list[str]:
        """This server's registered taste versions not in use, newest first."""
        if guild_id is None:
            return []
        return [v.version for v in await self.tastes.history(guild_id) if not v.active]


def describe(outcome: RunOutcome) -> str:
    """How a run ended, in a few words, for its record (what /retrain status shows later)."""
    if outcome.status == "cancelled":
        return "cancelled by an admin"
    if outcome.status == "interrupted":
        return outcome.error or "interrupted"
    if outcome.status == "failed":
        kept = f"; its candidate {outcome.version} is registered, not in use" if outcome.version else ""
        return f"{outcome.error or 'failed'}{kept}"
    if outcome.active:
        return f"{outcome.version} in use: {outcome.reason}"
    if outcome.version:
        return f"{outcome.version} learned, not used: {outcome.reason}"
    return f"not promoted: {outcome.reason}"


def _stopped_unexpectedly(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"the training process stopped unexpectedly (killed by {signal.Signals(-returncode).name})"
        except ValueError:
            pass
    return "the training process stopped unexpectedly"


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass


def _is_our_trainer(pid: int, out_dir: str) -> bool:
    """A live process that is one of our trainers writing to this run's folder (pids are reused)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [c.decode(errors="replace") for c in command]
    return any(m in words for m in TRAINER_MODULES.values()) and out_dir in words


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ["ActiveRun", "MIN_RATINGS", "ModelRegistry", "RunObserver", "RunOutcome", "StartedRun", "describe"]
