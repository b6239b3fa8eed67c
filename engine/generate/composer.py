"""The Composer: plans in, finished pieces out, batched and deterministic per seed and model version.

Each request becomes a MusicalPlan (engine.plan). The model writes the plan's 8-bar blocks in C major /
C minor with the plan's chords forced beat by beat, each block from the latent of its material (the
theme A from the latent GAN; a contrasting B from a latent between A's and a fresh one); returning
phrases then copy their source's notes (engine.generate.assemble). Tokens are post-processed to the
style's rules, decoded in the key, and checked against the training melodies: a piece sharing 2 bars or
more with one is written again from new seeds.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from engine.checkpoint import CHECKPOINT_DIR, CorpusStats, load_checkpoint
from engine.composition import Composition
from engine.generate.assemble import SEGMENT_BARS, apply_form, block_chords, block_materials, block_ties
from engine.model import ComposerModel, Condition, Segments, tempo_bucket
from engine.music import Piece
from engine.plan import MusicalPlan, derive_seed, make_plan
from engine.postprocess import decode_in_key, postprocess_tokens
from engine.request import ComposeRequest, EngineInputError
from engine.tokens import STEPS_PER_BAR, Encoded, encode
from engine.labels import STYLE_DERIVATION, STYLES

log = logging.getLogger(__name__)

MAX_NOVELTY_ATTEMPTS = 6
COPY_BARS = 2  # sharing this many bars with a training melody counts as copying
MOOD_SPREAD = 2.0  # the model's mood condition stays within mean ± this many standard deviations of the style's data
CONTRAST_STEP = 0.6  # how far a new section's latent moves from the theme's toward a fresh sample


class NoveltyChecker(Protocol):
    def longest_shared_bars(self, piece: Piece) -> int: ...


@dataclass
class _Job:
    """One piece to write: its plan, the latent of each 8-bar block, and the seed its notes are sampled with
    (the plan's, or one derived for a retry)."""

    plan: MusicalPlan
    latents: list[torch.Tensor]
    seed: int


Replan = Callable[[list[int], int], list[_Job]]


class Composer:
    def __init__(self, model: ComposerModel, styles: list[str], model_version: str, device: str | torch.device = "cpu",
                 novelty: NoveltyChecker | None = None, stats: CorpusStats | None = None, workers: int = 0):
        """`workers` > 1 finishes large batches (post-processing, decoding, novelty) in that many forked processes."""
        self.model = model.eval()
        self.workers = workers
        self._pool = None
        # Tracks the training data never had (no drum parts, say) come back empty for the arranger to fill.
        self.stats = stats
        rates = stats.track_rates if stats is not None else {}
        self.writes_bass = rates.get("bass", 1.0) > 0
        self.writes_drums = rates.get("drums", 1.0) > 0
        self.styles = list(styles)
        self.mood_by_style = stats.mood_by_style if stats is not None else {}
        self.tempo_by_style = stats.tempo_by_style if stats is not None else {}
        self._condition_rows: dict[tuple[str, str, str], tuple[int, float, float, int]] = {}
        self.model_version = model_version
        self.device = torch.device(device)
        self.novelty = novelty

    @classmethod
    def load(cls, path: Path | None = None, device: str | None = None, novelty: NoveltyChecker | None = None,
             cpu_threads: int | None = 1, workers: int = 0) -> "Composer":
        """Load a checkpoint (None: the shipped one) and the novelty index shipped beside it, if any.
        On a CPU, `cpu_threads` sets torch's intra-op threads (process-wide): small-batch sampling is a
        chain of tiny operations, and extra threads only contend (measured: 19 ms with 1 thread, 450 ms
        with 2 on a loaded 2-core machine). None leaves torch's setting alone."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if torch.device(device).type == "cpu" and cpu_threads is not None:
            torch.set_num_threads(cpu_threads)
        ckpt = load_checkpoint(path, device)
        if novelty is None:
            novelty = _load_novelty_index(Path(path).parent if path else CHECKPOINT_DIR)
        return cls(ckpt.model, ckpt.styles, ckpt.version, device, novelty, ckpt.stats, workers)

    # --- plans and conditions ---------------------------------------------------------------------

    def supported_styles(self) -> list[str]:
        """The styles this model can write: those it was trained on (a checkpoint's statistics list the
        styles its training data had; older checkpoints without them are trusted for every style)."""
        trained = set(self.mood_by_style) if self.mood_by_style else set(self.styles)
        return [s for s in STYLES if STYLE_DERIVATION.get(s, s) in self.styles and STYLE_DERIVATION.get(s, s) in trained]

    def plan(self, request: ComposeRequest) -> MusicalPlan:
        """The request's plan, among the styles this model writes; EngineInputError for a style it cannot."""
        styles = self.supported_styles()
        plan = make_plan(request, styles)
        if plan.style not in styles:
            raise EngineInputError(f"This model cannot write {plan.style!r}. Choose one of: {', '.join(styles)}.")
        return plan

    def _model_mood(self, plan: MusicalPlan) -> tuple[float, float]:
        """The mood as the model is told it: valence and arousal moved, monotonically, inside what the
        style's training data spans (mean ± MOOD_SPREAD standard deviations). A happy Bach chorale is the
        happiest chorale the data knows, not a point outside the style, where the models stop writing the
        style at all (measured: 6% of "happy classical" pieces read as classical before, see MODEL_CARD.md)."""
        m = plan.mood
        spans = self.mood_by_style.get(plan.style_model)
        if not spans:
            return m.valence, m.arousal
        return tuple(_squash(value, *spans[name]) for name, value in (("valence", m.valence), ("arousal", m.arousal)))

    def _model_tempo(self, plan: MusicalPlan) -> float:
        """The tempo as the model is told it: inside the style's 10th-90th percentile in the training data.
        The piece still plays at the planned tempo; the notes are written as the style's data has them
        (folk and celtic tunes all carry one tempo in their files, so any other is a condition the model
        never saw: folk went from 82% to 94% read as folk, see MODEL_CARD.md)."""
        span = self.tempo_by_style.get(plan.style_model)
        return float(plan.tempo) if not span else float(min(span[1], max(span[0], plan.tempo)))

    def _condition_row(self, plan: MusicalPlan) -> tuple[int, float, float, int]:
        """(style index, valence, arousal, minor) as the model is told them; a batch has few distinct ones."""
        cache_key = (plan.style, plan.mood.name, plan.key.mode)
        row = self._condition_rows.get(cache_key)
        if row is None:
            row = (self.styles.index(plan.style_model), *self._model_mood(plan), int(plan.key.mode == "minor"))
            self._condition_rows[cache_key] = row
        return row

    def _conditions(self, plans: list[MusicalPlan]) -> Condition:
        rows = [self._condition_row(p) for p in plans]
        style, valence, arousal, minor = zip(*rows) if rows else ((), (), (), ())
        d = self.device
        return Condition(
            style=torch.tensor(style, dtype=torch.long, device=d),
            valence=torch.tensor(valence, dtype=torch.float32, device=d),
            arousal=torch.tensor(arousal, dtype=torch.float32, device=d),
            tempo_bucket=tempo_bucket(torch.tensor([self._model_tempo(p) for p in plans], device=d)),
            mode=torch.tensor(minor, dtype=torch.long, device=d),
            shift=torch.zeros(len(plans), dtype=torch.long, device=d),
        )

    def sample_latents(self, plans: list[MusicalPlan], seeds: list[int]) -> torch.Tensor:
        with torch.inference_mode():
            return self.model.sample_latents(self._conditions(plans), self._seeds(seeds), [p.sampler for p in plans])

    def _seeds(self, seeds: list[int]) -> torch.Tensor:
        return torch.tensor(seeds, dtype=torch.long, device=self.device)

    # --- jobs: which latent writes which block -----------------------------------------------------

    def jobs_for(self, plans: list[MusicalPlan], themes: torch.Tensor | list[torch.Tensor], attempt: int = 0) -> list[_Job]:
        """Each plan's block latents from its theme: the theme's material gets the theme, every other
        material a latent CONTRAST_STEP of the way to its own fresh sample (all fresh latents in one call)."""
        materials = [block_materials(p) for p in plans]
        others = [[m for m in dict.fromkeys(ms) if m != ms[0]] for ms in materials]
        fresh_plans = [p for p, os_ in zip(plans, others) for _ in os_]
        fresh_seeds = [derive_seed(p.seed, "material", m, p.style, p.mood.name, attempt) for p, os_ in zip(plans, others) for m in os_]
        fresh = self.sample_latents(fresh_plans, fresh_seeds) if fresh_plans else None
        jobs, row = [], 0
        for plan, theme, ms, os_ in zip(plans, themes, materials, others):
            latent_of = {ms[0]: theme}
            for m in os_:
                latent_of[m] = torch.lerp(theme, fresh[row], CONTRAST_STEP)
                row += 1
            seed = plan.seed if attempt == 0 else derive_seed(plan.seed, "retry", attempt)
            jobs.append(_Job(plan, [latent_of[m] for m in ms], seed))
        return jobs

    def _theme_seed(self, plan: MusicalPlan, attempt: int = 0) -> int:
        # Style and mood are in the seed's labels: one seed in two styles gives two unrelated tunes.
        return derive_seed(plan.seed, "theme", plan.style, plan.mood.name, attempt)

    # --- decoding ---------------------------------------------------------------------------------

    def _decode_jobs(self, jobs: list[_Job]) -> list[Encoded]:
        """Sample every block of every job in one batch, chords forced to the plan; join and cut each job's tokens."""
        rows_plan, rows_z, rows_seed, rows_chords, rows_ties = [], [], [], [], []
        for job in jobs:
            chords, ties = block_chords(job.plan), block_ties(job.plan)
            first_bar = len(rows_z) * SEGMENT_BARS  # this job's first bar among the batch's decoded bars
            rows_ties.append(np.where(ties >= 0, ties + first_bar, -1)[: len(job.latents) * SEGMENT_BARS])
            for k, z in enumerate(job.latents):
                rows_plan.append(job.plan)
                rows_z.append(z)
                rows_seed.append(derive_seed(job.seed, "notes", job.plan.style, job.plan.mood.name, k))
                rows_chords.append(chords[k])
        with torch.inference_mode():
            seg = self.model.decode(
                torch.stack(rows_z), self._conditions(rows_plan), self._seeds(rows_seed),
                torch.tensor([p.temperature for p in rows_plan], dtype=torch.float32, device=self.device),
                torch.as_tensor(np.stack(rows_chords), dtype=torch.long, device=self.device),
                torch.as_tensor(np.concatenate(rows_ties), dtype=torch.long, device=self.device),
            )
        arrays = _segments_to_numpy(seg)
        if not self.writes_bass:
            arrays["bass"][:] = 0
        if not self.writes_drums:
            arrays["drums"][:] = 0
        out, row = [], 0
        for job in jobs:
            n = len(job.latents)
            steps = job.plan.bars * STEPS_PER_BAR
            tracks = Encoded(
                melody=arrays["melody"][row : row + n].reshape(-1)[:steps],
                bass=arrays["bass"][row : row + n].reshape(-1)[:steps],
                chords=arrays["chords"][row : row + n].reshape(-1)[: steps // 4],  # the plan's where it decides
                drums=arrays["drums"][row : row + n].reshape(-1, arrays["drums"].shape[-1])[:steps],
                has_bass=self.writes_bass, has_drums=self.writes_drums, mode=int(job.plan.key.mode == "minor"),
            )
            out.append(tracks)
            row += n
        return out

    def _finish_all(self, items: list[tuple[Encoded, MusicalPlan, str]]) -> list[tuple[Piece, bool]]:
        """Post-process, decode and novelty-check pieces: in a pool of forked workers for large batches
        (this part is Python on the CPU; the sampling before it is batched on the device)."""
        if self.workers > 1 and len(items) >= 4 * self.workers:
            if self._pool is None:
                import concurrent.futures
                import multiprocessing

                global _WORKER_NOVELTY
                _WORKER_NOVELTY = self.novelty  # inherited by the forked workers
                self._pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
            return list(self._pool.map(_finish_in_worker, items, chunksize=max(1, len(items) // (4 * self.workers))))
        return [finish(t, plan, name, self.novelty) for t, plan, name in items]

    def render(self, jobs: list[_Job], replan: Replan) -> tuple[list[Piece], list[_Job]]:
        """Decode jobs; the pieces that copy a training melody are replanned together (replan(indices,
        attempt) -> their new jobs) and decoded again, up to MAX_NOVELTY_ATTEMPTS times. Returns the pieces
        and the jobs that made them."""
        pieces: list[Piece | None] = [None] * len(jobs)
        pending = list(range(len(jobs)))
        for attempt in range(MAX_NOVELTY_ATTEMPTS):
            if attempt > 0:
                jobs = list(jobs)
                for i, job in zip(pending, replan(pending, attempt)):
                    jobs[i] = job
            tracks = self._decode_jobs([jobs[i] for i in pending])
            finished = self._finish_all([(t, jobs[i].plan, f"{self.model_version}/{jobs[i].plan.seed}") for i, t in zip(pending, tracks)])
            still = []
            for i, (piece, copied) in zip(pending, finished):
                pieces[i] = piece
                if copied:
                    still.append(i)
            pending = still
            if not pending:
                break
        if pending:
            log.warning("%d piece(s) still share %d+ bars with training data after %d attempts", len(pending), COPY_BARS, MAX_NOVELTY_ATTEMPTS)
        return pieces, jobs  # type: ignore[return-value]

    # --- public API -------------------------------------------------------------------------------

    def generate(self, requests: list[ComposeRequest]) -> list[Composition]:
        """Compose one piece per request, in one batch. The same resolved request gives the same piece."""
        if not requests:
            return []
        plans = [self.plan(r) for r in requests]
        themes = self.steer(requests, plans, self.sample_latents(plans, [self._theme_seed(p) for p in plans]))
        jobs = self.jobs_for(plans, themes)

        def replan(indices: list[int], attempt: int) -> list[_Job]:
            again = [plans[i] for i in indices]
            themes = self.steer([requests[i] for i in indices], again, self.sample_latents(again, [self._theme_seed(p, attempt) for p in again]))
            return self.jobs_for(again, themes, attempt)

        pieces, jobs = self.render(jobs, replan)
        embeddings = torch.stack([j.latents[0] for j in jobs]).float().cpu().numpy()  # one copy off the device, not one per piece
        return [Composition(piece, plan, z, self.model_version) for piece, plan, z in zip(pieces, plans, embeddings)]

    # --- per-server taste: the one hook engine.taste needs ------------------------------------------

    def steer(self, requests: list[ComposeRequest], plans: list[MusicalPlan], themes: torch.Tensor) -> torch.Tensor:
        """Theme latents moved by each request's server taste model (`ComposeRequest.taste`, a file written by
        engine.taste.train); requests without one keep the shared model's latents exactly."""
        if not any(r.taste for r in requests):
            return themes
        from engine.taste.model import steer_latents

        return steer_latents([r.taste for r in requests], [p.style for p in plans], [p.mood.name for p in plans], themes, self.model_version)

    def generate_pieces(self, requests: list[ComposeRequest]) -> list[Piece]:
        """Just the pieces: the generator interface of engine.evaluation."""
        return [c.piece for c in self.generate(requests)]

    __call__ = generate_pieces

    def from_latent(self, z: torch.Tensor, plan: MusicalPlan) -> Composition:
        """The plan written from theme latent z (a variation's or a continuation's); retries sample new notes."""
        [job] = self.jobs_for([plan], [z])
        [piece], _ = self.render([job], new_notes_for(job))
        return Composition(piece, plan, z.float().cpu().numpy(), self.model_version)

    def from_block_latents(self, latents: list[torch.Tensor], plan: MusicalPlan) -> Composition:
        """The plan written from given block latents (an encoded piece's, for restyle and re-mood)."""
        blocks = -(-plan.bars // SEGMENT_BARS)
        latents = (latents + latents[-1:] * blocks)[:blocks]
        job = _Job(plan, latents, plan.seed)
        [piece], _ = self.render([job], new_notes_for(job))
        return Composition(piece, plan, latents[0].float().cpu().numpy(), self.model_version)

    def latent_of(self, parent: "Composition | np.ndarray") -> torch.Tensor:
        z = parent.latent if isinstance(parent, Composition) else parent
        return torch.as_tensor(np.asarray(z, dtype=np.float32), device=self.device)

    def encode(self, piece: Piece) -> np.ndarray:
        """The latent (embedding) of a piece's first 8 bars."""
        return self.encode_blocks(piece)[0].float().cpu().numpy()

    def encode_blocks(self, piece: Piece) -> list[torch.Tensor]:
        """Latents of each 8-bar block of a 4/4 piece (key-normalised; a short last block is padded with rests)."""
        normalised, _ = piece.normalised()
        n_blocks = math.ceil(piece.bars / SEGMENT_BARS)
        padded = replace(normalised, bars=n_blocks * SEGMENT_BARS)
        enc = encode(padded)
        steps = SEGMENT_BARS * STEPS_PER_BAR
        seg = Segments(
            melody=torch.as_tensor(enc.melody.reshape(n_blocks, steps), dtype=torch.long, device=self.device),
            bass=torch.as_tensor(enc.bass.reshape(n_blocks, steps), dtype=torch.long, device=self.device),
            chords=torch.as_tensor(enc.chords.reshape(n_blocks, steps // 4), dtype=torch.long, device=self.device),
            drums=torch.as_tensor(enc.drums.reshape(n_blocks, steps, -1), dtype=torch.float32, device=self.device),
        )
        with torch.inference_mode():
            return list(self.model.encode(seg))

    # Edits of existing pieces live in engine.generate.edits; these are their entry points.

    def variation(self, parent: "Composition | np.ndarray", request: ComposeRequest | None = None, strength: float = 0.3) -> Composition:
        from engine.generate.edits import variation

        return variation(self, parent, request, strength)

    def interpolate(self, a: "Composition | np.ndarray", b: "Composition | np.ndarray", steps: int,
                    request: ComposeRequest | None = None) -> list[Composition]:
        from engine.generate.edits import interpolate

        return interpolate(self, a, b, steps, request)

    def restyle(self, piece: Piece, style: str, request: ComposeRequest | None = None) -> Composition:
        from engine.generate.edits import restyle

        return restyle(self, piece, style, request)

    def remood(self, piece: Piece, mood: str, request: ComposeRequest | None = None) -> Composition:
        from engine.generate.edits import remood

        return remood(self, piece, mood, request)

    def continue_piece(self, piece: "Piece | bytes | str | Path", bars: int, request: ComposeRequest | None = None) -> Composition:
        from engine.generate.edits import continue_piece

        return continue_piece(self, piece, bars, request)


# --- helpers --------------------------------------------------------------------------------------

_WORKER_NOVELTY: NoveltyChecker | None = None


def new_notes_for(job: _Job) -> Replan:
    """The replan of a one-piece render whose latents stay: a retry only samples new notes."""

    def replan(indices: list[int], attempt: int) -> list[_Job]:
        return [replace(job, seed=derive_seed(job.plan.seed, "retry", attempt))]

    return replan


def finish(tracks: Encoded, plan: MusicalPlan, name: str, novelty: NoveltyChecker | None) -> tuple[Piece, bool]:
    """Tokens (C-relative) -> the finished Piece in the plan's key, and whether it copies a training melody:
    post-processed, given the form (returning phrases take their source's notes), decoded in the key."""
    tracks = apply_form(postprocess_tokens(tracks, plan.style, harmony=np.asarray(plan.harmony), ties=plan.chord_ties), plan)
    shift = plan.key.tonic if plan.key.tonic <= 6 else plan.key.tonic - 12  # stay near the trained register
    piece = decode_in_key(tracks, shift, float(plan.tempo))
    piece = replace(piece, key=plan.key, source="generated", name=name)
    return piece, novelty is not None and _shared_bars(novelty, piece, tracks.melody) >= COPY_BARS


def _shared_bars(novelty: NoveltyChecker, piece: Piece, melody: np.ndarray) -> float:
    """novelty.longest_shared_bars(piece), from the melody tokens already at hand when the checker can
    (a NoveltyIndex: same answer, without encoding the piece back to tokens)."""
    from_tokens = getattr(novelty, "longest_shared_bars_of_tokens", None)
    return from_tokens(melody) if from_tokens is not None else novelty.longest_shared_bars(piece)


def _finish_in_worker(item: tuple[Encoded, MusicalPlan, str]) -> tuple[Piece, bool]:
    return finish(*item, _WORKER_NOVELTY)


def _segments_to_numpy(seg: Segments) -> dict[str, np.ndarray]:
    return {
        "melody": seg.melody.cpu().numpy().astype(np.int16),
        "bass": seg.bass.cpu().numpy().astype(np.int16),
        "chords": seg.chords.cpu().numpy().astype(np.int16),
        "drums": seg.drums.cpu().numpy().astype(np.uint8),
    }


def _squash(value: float, mean: float, std: float) -> float:
    """`value` mapped into mean ± MOOD_SPREAD * std by a tanh: order-preserving, nearly the identity near the mean."""
    width = max(MOOD_SPREAD * std, 1e-3)
    return float(mean + width * math.tanh((value - mean) / width))


def _load_novelty_index(directory: Path) -> NoveltyChecker | None:
    """The novelty index shipped beside the checkpoint, when both it and engine.evaluation.novelty exist."""
    try:
        from engine.evaluation.novelty import NoveltyIndex
    except ImportError:
        return None
    for name in ("novelty.npz", "novelty_index.npz", "novelty.pkl", "novelty.json"):
        path = directory / name
        if path.exists():
            return NoveltyIndex.load(path)
    log.warning("No novelty index in %s: generated pieces are not checked against the training data", directory)
    return None


__all__ = ["COPY_BARS", "CONTRAST_STEP", "Composer", "MAX_NOVELTY_ATTEMPTS", "MOOD_SPREAD", "NoveltyChecker", "finish"]
