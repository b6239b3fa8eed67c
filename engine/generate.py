"""Generation API: requests in, pieces out, batched and deterministic per seed and model version.

    composer = Composer.load()                       # the shipped checkpoint, CUDA when present
    [c] = composer.generate([ComposeRequest(style="jazz", mood="calm", seed=7)])
    c.piece, c.request (resolved: style, mood, key, tempo, seed filled), c.latent, c.model_version

The model writes 8-bar segments in C major / C minor. Longer pieces chain segments whose latents follow a
small form (A A' B A for 32 bars: the return reuses A's latent with fresh notes); 4 bars are half a
segment. Tokens are post-processed to the style's rules, decoded, transposed to the key, and checked
against the training melodies: a piece sharing 2 bars or more with one is resampled with a derived seed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from engine.checkpoint import CHECKPOINT_DIR, load_checkpoint
from engine.model import SEGMENT_BARS, ComposerModel, Condition, Segments, tempo_bucket
from engine.music import Key, Meter, Piece
from engine.postprocess import decode_in_key, postprocess_tokens
from engine.prompt import read_prompt
from engine.request import MAX_BARS, MAX_TEMPO, MIN_BARS, MIN_TEMPO, ComposeRequest, EngineInputError
from engine.tokens import STEPS_PER_BAR, Encoded, encode
from engine.vocab import MOODS, STYLE_DERIVATION, STYLES, normalise_mood

log = logging.getLogger(__name__)

# Default tempo per style (bpm) and a factor per mood: the tempo when neither the request nor its prompt gives one.
STYLE_TEMPO: dict[str, int] = {
    "jazz": 132, "blues": 92, "latin": 118, "pop": 108, "rock": 124, "folk": 112, "celtic": 118,
    "classical": 96, "game": 132, "lofi": 78, "ambient": 66,
}
MOOD_TEMPO_FACTOR: dict[str, float] = {"happy": 1.05, "energetic": 1.25, "calm": 0.8, "dreamy": 0.85, "sad": 0.8, "dark": 1.0}
# How often a mood is in a minor key when the request names no key.
MOOD_MINOR_RATE: dict[str, float] = {"happy": 0.05, "energetic": 0.3, "calm": 0.15, "dreamy": 0.35, "sad": 0.85, "dark": 0.9}
# Keys chosen when the request names none: comfortable for singers and the arranger's instruments.
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "major": ("C", "F", "G", "D", "Bb", "Eb", "A"),
    "minor": ("Am", "Dm", "Em", "Gm", "Cm", "Bm", "F#m"),
}
# Latent plan per number of 8-bar segments: (which earlier segment to start from, step toward a fresh sample).
# Segment 0 is the theme A; 0.25 makes a variation A', 0.6 a contrasting B, 0.0 a return of A.
FORMS: dict[int, tuple[tuple[int, float], ...]] = {
    1: ((0, 0.0),),
    2: ((0, 0.0), (0, 0.25)),
    3: ((0, 0.0), (0, 0.6), (0, 0.2)),
    4: ((0, 0.0), (0, 0.25), (0, 0.6), (0, 0.0)),
}
MAX_NOVELTY_ATTEMPTS = 6
COPY_BARS = 2  # sharing this many bars with a training melody counts as copying
MOOD_SPREAD = 2.0  # the model's mood condition stays within mean ± this many standard deviations of the style's data
CONTINUATION_STEP = 0.3  # how far a continuation's latent moves from the fragment's toward a fresh sample


class NoveltyChecker(Protocol):
    def longest_shared_bars(self, piece: Piece) -> int: ...


@dataclass
class Composition:
    piece: Piece
    request: ComposeRequest  # resolved: style, mood, key, tempo and seed filled in
    latent: np.ndarray  # the latent of the first 8 bars: the piece's embedding
    model_version: str


def derive_seed(seed: int, *labels: object) -> int:
    """A new 31-bit seed from a seed and labels (segment, retry, ...), stable across runs and machines."""
    digest = hashlib.blake2b(repr((seed, *labels)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def default_tempo(style: str, mood: str, factor: float = 1.0) -> int:
    bpm = STYLE_TEMPO[style] * MOOD_TEMPO_FACTOR[mood] * factor
    return int(round(min(MAX_TEMPO, max(MIN_TEMPO, bpm))))


def resolve_request(request: ComposeRequest, styles: tuple[str, ...] | list[str] = STYLES) -> ComposeRequest:
    """Fill in everything the request leaves open: prompt words first, then choices drawn from the seed
    (a style among `styles` when neither the request nor its prompt names one).
    Raises EngineInputError (naming the allowed values) for unknown names or out-of-range numbers."""
    request = request.validated()
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    reading = read_prompt(request.prompt)
    style = request.style or reading.style or styles[_pick(seed, "style", len(styles))]
    mood = request.mood or reading.mood or list(MOODS)[_pick(seed, "mood", len(MOODS))]
    tempo = request.tempo or reading.tempo or default_tempo(style, mood, reading.tempo_factor)
    tempo = int(min(MAX_TEMPO, max(MIN_TEMPO, tempo)))
    key = request.key
    if key is None:
        mode = "minor" if _pick(seed, "mode", 10_000) < 10_000 * MOOD_MINOR_RATE[mood] else "major"
        key = DEFAULT_KEYS[mode][_pick(seed, "key", len(DEFAULT_KEYS[mode]))]
    return replace(request, style=style, mood=mood, tempo=tempo, key=key, seed=seed)


def _pick(seed: int, label: str, n: int) -> int:
    """A choice in range(n) drawn from the seed, one independent draw per label (a hash: no RNG object to
    build, which cost more than the rest of resolving a request)."""
    return derive_seed(seed, "resolve", label) % n


@dataclass
class _Job:
    """One piece to write: its resolved request and the latent of each 8-bar segment."""

    request: ComposeRequest
    latents: list[torch.Tensor]
    bars: int
    seed: int  # the seed the notes are sampled with (the request's, or one derived for a retry)


class Composer:
    def __init__(self, model: ComposerModel, styles: list[str], model_version: str, device: str | torch.device = "cpu",
                 novelty: NoveltyChecker | None = None, stats: dict | None = None, workers: int = 0):
        """`workers` > 1 finishes large batches (post-processing, decoding, novelty) in that many forked processes."""
        self.model = model.eval()
        self.workers = workers
        self._pool = None
        # Tracks the training data never had (no drum parts, say) come back empty for the arranger to fill.
        rates = (stats or {}).get("track_rates", {})
        self.writes_bass = rates.get("bass", 1.0) > 0
        self.writes_drums = rates.get("drums", 1.0) > 0
        self.styles = list(styles)
        self.stats = stats or {}
        self.mood_by_style = self.stats.get("mood_by_style", {})
        self.tempo_by_style = self.stats.get("tempo_by_style", {})
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

    # --- conditions and latents ------------------------------------------------------------------

    def _style_index(self, style: str) -> int:
        model_style = STYLE_DERIVATION.get(style, style)
        if style not in self.supported_styles():
            raise EngineInputError(f"This model cannot write {style!r}. Choose one of: {', '.join(self.supported_styles())}.")
        return self.styles.index(model_style)

    def supported_styles(self) -> list[str]:
        """The styles this model can write: those it was trained on (a checkpoint's statistics list the
        styles its training data had; older checkpoints without them are trusted for every style)."""
        trained = set(self.mood_by_style) if self.mood_by_style else set(self.styles)
        return [s for s in STYLES if STYLE_DERIVATION.get(s, s) in self.styles and STYLE_DERIVATION.get(s, s) in trained]

    def _model_mood(self, style: str, mood: str) -> tuple[float, float]:
        """The mood as the model is told it: valence and arousal moved, monotonically, inside what the
        style's training data spans (mean ± MOOD_SPREAD standard deviations). A happy Bach chorale is the
        happiest chorale the data knows, not a point outside the style, where the models stop writing the
        style at all (measured: 6% of "happy classical" pieces read as classical before, see MODEL_CARD.md)."""
        m = MOODS[mood]
        spans = self.mood_by_style.get(STYLE_DERIVATION.get(style, style))
        if not spans:
            return m.valence, m.arousal
        return tuple(_squash(value, *spans[name]) for name, value in (("valence", m.valence), ("arousal", m.arousal)))

    def _model_tempo(self, style: str, tempo: float) -> float:
        """The tempo as the model is told it: inside the style's 10th-90th percentile in the training data.
        The piece still plays at the requested tempo; the notes are written as the style's data has them
        (folk and celtic tunes all carry one tempo in their files, so any other is a condition the model
        never saw: folk went from 82% to 94% read as folk, see MODEL_CARD.md)."""
        span = self.tempo_by_style.get(STYLE_DERIVATION.get(style, style))
        return float(tempo) if not span else float(min(span[1], max(span[0], tempo)))

    def _condition_row(self, style: str, mood: str, key: str) -> tuple[int, float, float, int]:
        """(style index, valence, arousal, minor) as the model is told them; a batch has few distinct ones."""
        row = self._condition_rows.get((style, mood, key))
        if row is None:
            row = (self._style_index(style), *self._model_mood(style, mood), int(_parse_key(key).mode == "minor"))
            self._condition_rows[(style, mood, key)] = row
        return row

    def _conditions(self, requests: list[ComposeRequest]) -> Condition:
        rows = [self._condition_row(r.style, r.mood, r.key) for r in requests]
        style, valence, arousal, minor = zip(*rows) if rows else ((), (), (), ())
        d = self.device
        return Condition(
            style=torch.tensor(style, dtype=torch.long, device=d),
            valence=torch.tensor(valence, dtype=torch.float32, device=d),
            arousal=torch.tensor(arousal, dtype=torch.float32, device=d),
            tempo_bucket=tempo_bucket(torch.tensor([self._model_tempo(r.style, r.tempo) for r in requests], device=d)),
            mode=torch.tensor(minor, dtype=torch.long, device=d),
            shift=torch.zeros(len(requests), dtype=torch.long, device=d),
        )

    def _sample_latents(self, requests: list[ComposeRequest], seeds: list[int]) -> torch.Tensor:
        with torch.inference_mode():
            return self.model.sample_latents(self._conditions(requests), self._seeds(seeds), [r.sampler for r in requests])

    def _seeds(self, seeds: list[int]) -> torch.Tensor:
        return torch.tensor(seeds, dtype=torch.long, device=self.device)

    def _plan_all(self, requests: list[ComposeRequest], themes, attempt: int = 0) -> list[_Job]:
        """Latents for each segment of each piece, following FORMS from its theme latent; the fresh latents
        of every later segment come from one batched call."""
        counts = [math.ceil(r.bars / SEGMENT_BARS) for r in requests]
        fresh_requests = [r for r, n in zip(requests, counts) for _ in range(1, n)]
        fresh_seeds = [derive_seed(r.seed, "segment", k, attempt) for r, n in zip(requests, counts) for k in range(1, n)]
        fresh = self._sample_latents(fresh_requests, fresh_seeds) if fresh_requests else None
        jobs, row = [], 0
        for request, theme, n in zip(requests, themes, counts):
            form = FORMS.get(n, FORMS[4])
            latents = [theme]
            for k in range(1, n):
                origin, step = form[k]
                latents.append(torch.lerp(latents[origin], fresh[row], step))
                row += 1
            jobs.append(_Job(request, latents, request.bars, request.seed if attempt == 0 else derive_seed(request.seed, "retry", attempt)))
        return jobs

    # --- decoding ---------------------------------------------------------------------------------

    def _decode_jobs(self, jobs: list[_Job]) -> list[Encoded]:
        """Sample every segment of every job in one batch; join and cut each job's tokens."""
        rows_req, rows_z, rows_seed = [], [], []
        for job in jobs:
            for k, z in enumerate(job.latents):
                rows_req.append(job.request)
                rows_z.append(z)
                rows_seed.append(derive_seed(job.seed, "notes", k))
        with torch.inference_mode():
            seg = self.model.decode(
                torch.stack(rows_z), self._conditions(rows_req), self._seeds(rows_seed),
                torch.tensor([r.temperature for r in rows_req], dtype=torch.float32, device=self.device),
            )
        arrays = _segments_to_numpy(seg)
        if not self.writes_bass:
            arrays["bass"][:] = 0
        if not self.writes_drums:
            arrays["drums"][:] = 0
        out, row = [], 0
        for job in jobs:
            n = len(job.latents)
            steps = job.bars * STEPS_PER_BAR
            mode = int(Key.parse(job.request.key).mode == "minor")
            tracks = Encoded(
                melody=arrays["melody"][row : row + n].reshape(-1)[:steps],
                bass=arrays["bass"][row : row + n].reshape(-1)[:steps],
                chords=arrays["chords"][row : row + n].reshape(-1)[: steps // 4],
                drums=arrays["drums"][row : row + n].reshape(-1, arrays["drums"].shape[-1])[:steps],
                has_bass=self.writes_bass, has_drums=self.writes_drums, mode=mode,
            )
            out.append(tracks)
            row += n
        return out

    def _finish_all(self, items: list[tuple[Encoded, ComposeRequest, str]]) -> list[tuple[Piece, bool]]:
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
        return [_finish(t, r, name, self.novelty) for t, r, name in items]

    def _render(self, jobs: list[_Job], replan) -> tuple[list[Piece], list[_Job]]:
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
            finished = self._finish_all([(t, jobs[i].request, f"{self.model_version}/{jobs[i].request.seed}") for i, t in zip(pending, tracks)])
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
        styles = self.supported_styles()
        resolved = [resolve_request(r, styles) for r in requests]
        themes = self._sample_latents(resolved, [r.seed for r in resolved])
        jobs = self._plan_all(resolved, themes)

        def replan(indices: list[int], attempt: int) -> list[_Job]:
            again = [resolved[i] for i in indices]
            return self._plan_all(again, self._sample_latents(again, [derive_seed(r.seed, "theme", attempt) for r in again]), attempt)

        pieces, jobs = self._render(jobs, replan)
        embeddings = torch.stack([j.latents[0] for j in jobs]).float().cpu().numpy()  # one copy off the device, not one per piece
        return [Composition(p, r, z, self.model_version) for p, r, z in zip(pieces, resolved, embeddings)]

    def generate_pieces(self, requests: list[ComposeRequest]) -> list[Piece]:
        """Just the pieces: the generator interface of engine.evaluation."""
        return [c.piece for c in self.generate(requests)]

    __call__ = generate_pieces

    def _from_latent(self, z: torch.Tensor, request: ComposeRequest) -> Composition:
        [job] = self._plan_all([request], [z])
        [piece], _ = self._render([job], _new_notes_for(job))
        return Composition(piece, request, z.float().cpu().numpy(), self.model_version)

    def _latent_of(self, parent: "Composition | np.ndarray") -> torch.Tensor:
        z = parent.latent if isinstance(parent, Composition) else parent
        return torch.as_tensor(np.asarray(z, dtype=np.float32), device=self.device)

    def variation(self, parent: "Composition | np.ndarray", request: ComposeRequest | None = None, strength: float = 0.3) -> Composition:
        """A latent neighbour of the parent: `strength` 0 keeps its latent, 1 is a fresh piece."""
        if not 0.0 <= strength <= 1.0:
            raise EngineInputError(f"Variation strength must be between 0 and 1, not {strength}.")
        request = resolve_request(_inherit(request, parent.request if isinstance(parent, Composition) else None))
        fresh = self._sample_latents([request], [derive_seed(request.seed, "variation")])[0]
        return self._from_latent(torch.lerp(self._latent_of(parent), fresh, strength), request)

    def interpolate(self, a: "Composition | np.ndarray", b: "Composition | np.ndarray", steps: int,
                    request: ComposeRequest | None = None) -> list[Composition]:
        """`steps` pieces on the spherical path from a's latent to b's (both ends included). The first half
        keeps a's style and mood, the second half b's (when b is a Composition)."""
        if not 2 <= steps <= 16:
            raise EngineInputError(f"Interpolation steps must be between 2 and 16, not {steps}.")
        req_a = resolve_request(_inherit(request, a.request if isinstance(a, Composition) else None))
        req_b = resolve_request(_inherit(request, b.request if isinstance(b, Composition) else None)) if isinstance(b, Composition) else req_a
        za, zb = self._latent_of(a), self._latent_of(b)
        out = []
        for i in range(steps):
            t = i / (steps - 1)
            req = replace(req_a if t < 0.5 else req_b, seed=derive_seed(req_a.seed, "interpolate", i))
            out.append(self._from_latent(_slerp(za, zb, t), req))
        return out

    def encode(self, piece: Piece) -> np.ndarray:
        """The latent (embedding) of a piece's first 8 bars."""
        return self._encode_segments(piece)[0].float().cpu().numpy()

    def _encode_segments(self, piece: Piece) -> list[torch.Tensor]:
        """Latents of each 8-bar segment of a piece (key-normalised; a short last segment is padded with rests)."""
        piece = _checked_fragment(piece)
        normalised, _ = piece.normalised()
        n_segments = math.ceil(piece.bars / SEGMENT_BARS)
        padded = replace(normalised, bars=n_segments * SEGMENT_BARS)
        enc = encode(padded)
        steps = SEGMENT_BARS * STEPS_PER_BAR
        seg = Segments(
            melody=torch.as_tensor(enc.melody.reshape(n_segments, steps), dtype=torch.long, device=self.device),
            bass=torch.as_tensor(enc.bass.reshape(n_segments, steps), dtype=torch.long, device=self.device),
            chords=torch.as_tensor(enc.chords.reshape(n_segments, steps // 4), dtype=torch.long, device=self.device),
            drums=torch.as_tensor(enc.drums.reshape(n_segments, steps, -1), dtype=torch.float32, device=self.device),
        )
        with torch.inference_mode():
            return list(self.model.encode(seg))

    def _recondition(self, piece: Piece, request: ComposeRequest) -> Composition:
        """Encode each segment of the piece and decode it under the request's condition."""
        latents = self._encode_segments(piece)
        bars = min(MAX_BARS, max(MIN_BARS, piece.bars))
        request = replace(request, bars=bars)
        job = _Job(request, latents[: math.ceil(bars / SEGMENT_BARS)], bars, request.seed)
        [out], _ = self._render([job], _new_notes_for(job))
        return Composition(out, request, latents[0].float().cpu().numpy(), self.model_version)

    def restyle(self, piece: Piece, style: str, request: ComposeRequest | None = None) -> Composition:
        """The same tune (its latents) written in another style; key and mood stay unless the request sets them."""
        base = request or ComposeRequest()
        request = resolve_request(replace(base, style=style, mood=base.mood or piece.mood, key=base.key or piece.key.name))
        return self._recondition(piece, request)

    def remood(self, piece: Piece, mood: str, request: ComposeRequest | None = None) -> Composition:
        """The same tune in another mood: the mode follows the mood (sad and dark go minor) unless a key is given."""
        base = request or ComposeRequest()
        try:
            mood_name = normalise_mood(mood)
        except ValueError as exc:
            raise EngineInputError(str(exc)) from None
        key = base.key
        if key is None:
            minor = MOOD_MINOR_RATE[mood_name] >= 0.5
            key = Key(piece.key.tonic, "minor" if minor else "major").name
        request = resolve_request(replace(base, mood=mood_name, style=base.style or piece.style, key=key,
                                          tempo=base.tempo or default_tempo(base.style or piece.style or "pop", mood_name)))
        return self._recondition(piece, request)

    def continue_piece(self, piece: "Piece | bytes | str | Path", bars: int, request: ComposeRequest | None = None) -> Composition:
        """The fragment followed by `bars` new bars in its key and tempo, from a latent near the fragment's.
        `piece` may be a Piece or MIDI (bytes or a path); a broken fragment raises EngineInputError."""
        piece = _checked_fragment(_as_piece(piece))
        if not MIN_BARS <= bars <= MAX_BARS:
            raise EngineInputError(f"Bars must be between {MIN_BARS} and {MAX_BARS}, not {bars}.")
        base = request or ComposeRequest()
        request = resolve_request(replace(base, bars=bars, style=base.style or piece.style, mood=base.mood or piece.mood,
                                          key=piece.key.name, tempo=base.tempo or int(round(min(MAX_TEMPO, max(MIN_TEMPO, piece.tempo))))))
        z_fragment = self._encode_segments(piece)[-1]
        fresh = self._sample_latents([request], [derive_seed(request.seed, "continue")])[0]
        new = self._from_latent(torch.lerp(z_fragment, fresh, CONTINUATION_STEP), request)
        return replace(new, piece=_join(piece, new.piece))


# --- helpers --------------------------------------------------------------------------------------

_WORKER_NOVELTY: NoveltyChecker | None = None


def _new_notes_for(job: _Job):
    """The replan of a one-piece render whose latents stay: a retry only samples new notes."""

    def replan(indices: list[int], attempt: int) -> list[_Job]:
        return [replace(job, seed=derive_seed(job.request.seed, "retry", attempt))]

    return replan


def _finish(tracks: Encoded, request: ComposeRequest, name: str, novelty: NoveltyChecker | None) -> tuple[Piece, bool]:
    """Tokens (C-relative) -> the finished Piece in the requested key, and whether it copies a training melody."""
    tracks = postprocess_tokens(tracks, request.style)
    key = _parse_key(request.key)
    shift = key.tonic if key.tonic <= 6 else key.tonic - 12  # stay near the trained register
    piece = decode_in_key(tracks, shift, float(request.tempo))  # = clamp_ranges(decode(...).transposed(shift))
    mood = MOODS[request.mood]
    piece = replace(piece, key=key, style=request.style, mood=request.mood, valence=mood.valence, arousal=mood.arousal,
                    source="generated", name=name)
    return piece, novelty is not None and _shared_bars(novelty, piece, tracks.melody) >= COPY_BARS


_parse_key = lru_cache(maxsize=None)(Key.parse)  # a handful of key names; Key is immutable


def _shared_bars(novelty: NoveltyChecker, piece: Piece, melody: np.ndarray) -> float:
    """novelty.longest_shared_bars(piece), from the melody tokens already at hand when the checker can
    (a NoveltyIndex: same answer, without encoding the piece back to tokens)."""
    from_tokens = getattr(novelty, "longest_shared_bars_of_tokens", None)
    return from_tokens(melody) if from_tokens is not None else novelty.longest_shared_bars(piece)


def _finish_in_worker(item: tuple[Encoded, ComposeRequest, str]) -> tuple[Piece, bool]:
    return _finish(*item, _WORKER_NOVELTY)



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


def _slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    cos = torch.clamp(torch.dot(a, b) / (a.norm() * b.norm() + 1e-8), -1.0, 1.0)
    omega = torch.arccos(cos)
    if float(omega) < 1e-4:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def _inherit(request: ComposeRequest | None, parent: ComposeRequest | None) -> ComposeRequest:
    """The request with open fields taken from the parent's resolved request (a new seed unless given)."""
    request = request or ComposeRequest()
    if parent is None:
        return request
    return replace(request, style=request.style or parent.style, mood=request.mood or parent.mood,
                   key=request.key or parent.key, tempo=request.tempo or parent.tempo)


def _as_piece(source: "Piece | bytes | str | Path") -> Piece:
    if isinstance(source, Piece):
        return source
    from engine.data.midi import MidiReadError, midi_to_piece  # pretty_midi only when MIDI is uploaded

    try:
        return midi_to_piece(source)
    except (MidiReadError, ValueError) as exc:
        raise EngineInputError(f"That MIDI fragment cannot be used: {exc}") from None


def _checked_fragment(piece: Piece) -> Piece:
    if piece.meter != Meter(4, 4):
        raise EngineInputError(f"Fragments must be in 4/4; this one is in {piece.meter.numerator}/{piece.meter.denominator}.")
    if piece.bars < 1 or not piece.melody:
        raise EngineInputError("That fragment has no melody notes to work from.")
    if piece.bars > MAX_BARS:
        piece = piece.window(0, MAX_BARS)
    return piece


def _join(first: Piece, second: Piece) -> Piece:
    """`second` appended after `first` (same key and meter), as one piece."""
    offset = first.total_steps

    def moved(items):
        return [replace(x, start=x.start + offset) for x in items]

    return replace(second, bars=first.bars + second.bars, melody=first.melody + moved(second.melody),
                   harmony=first.harmony + moved(second.harmony), bass=first.bass + moved(second.bass),
                   drums=first.drums + moved(second.drums))


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


# --- benchmark: `python -m engine.generate --bench` -------------------------------------------------


def benchmark(composer: Composer, batch_sizes: tuple[int, ...] = (1024, 4096, 16384), repeats: int = 5, end_to_end: int = 2048) -> dict:
    """Throughput of batched 8-bar generation: the models alone (latents + token sampling on the device),
    and end to end (requests to post-processed Pieces). Median of `repeats` timed runs after a warm-up."""
    import statistics
    import time

    def sync() -> None:
        if composer.device.type == "cuda":
            torch.cuda.synchronize()

    results: dict = {"device": torch.cuda.get_device_name(composer.device) if composer.device.type == "cuda" else "cpu", "model_only": {}}
    styles = composer.supported_styles()
    for n in batch_sizes:
        reqs = [resolve_request(ComposeRequest(style=styles[i % len(styles)], mood=list(MOODS)[i % len(MOODS)], seed=i)) for i in range(n)]
        cond, seeds = composer._conditions(reqs), composer._seeds([r.seed for r in reqs])
        temps = torch.ones(n, device=composer.device)
        times = []
        for rep in range(repeats + 1):
            sync()
            t = time.perf_counter()
            with torch.inference_mode():
                z = composer.model.sample_latents(cond, seeds, "gan")
                seg = composer.model.decode(z, cond, seeds, temps)
                seg.melody.sum().item()
            sync()
            if rep:  # the first run is the warm-up
                times.append(time.perf_counter() - t)
        results["model_only"][n] = {"seconds": round(statistics.median(times), 4), "pieces_per_second": round(n / statistics.median(times))}
    reqs = [ComposeRequest(style=styles[i % len(styles)], mood=list(MOODS)[i % len(MOODS)], seed=i) for i in range(end_to_end)]
    composer.generate(reqs[: max(64, 4 * composer.workers)])  # warm-up (starts the worker pool)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        composer.generate(reqs)
        runs.append(time.perf_counter() - t)
    seconds = statistics.median(runs)
    results["end_to_end"] = {"pieces": end_to_end, "seconds": round(seconds, 3), "pieces_per_second": round(end_to_end / seconds),
                             "runs_pieces_per_second": [round(end_to_end / r) for r in runs],
                             "novelty_check": composer.novelty is not None, "workers": composer.workers}
    return results


def cpu_latency(composer: Composer, runs: int = 20) -> dict:
    """Wall time of one 8-bar request on this machine (median and 90th percentile, milliseconds)."""
    import time

    composer.generate([ComposeRequest(style="jazz", mood="calm", seed=0)])
    times = []
    for i in range(runs):
        t = time.perf_counter()
        styles = composer.supported_styles()
        composer.generate([ComposeRequest(style=styles[i % len(styles)], mood="calm", seed=i)])
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"runs": runs, "median_ms": round(times[len(times) // 2], 1), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
            "threads": torch.get_num_threads()}


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Generate or benchmark with a checkpoint.")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--bench", action="store_true", help="batched throughput (and CPU latency on a CPU)")
    parser.add_argument("--batch-sizes", default="1024,4096,16384")
    parser.add_argument("--end-to-end", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=0, help="processes for the CPU part of large batches")
    parser.add_argument("--style", default=None)
    parser.add_argument("--mood", default=None)
    parser.add_argument("--prompt", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--bars", type=int, default=8)
    args = parser.parse_args()
    composer = Composer.load(args.checkpoint, args.device, workers=args.workers)
    if args.bench:
        report = benchmark(composer, tuple(int(x) for x in args.batch_sizes.split(",")), end_to_end=args.end_to_end)
        if composer.device.type == "cpu":
            report["cpu_latency_8_bars"] = cpu_latency(composer)
        print(json.dumps(report, indent=1))
    else:
        [c] = composer.generate([ComposeRequest(style=args.style, mood=args.mood, prompt=args.prompt, seed=args.seed, bars=args.bars)])
        print(c.request)
        print(" ".join(ch.symbol() for ch in c.piece.harmony))
        print(" ".join(f"{n.pitch}@{n.start}" for n in c.piece.melody))
