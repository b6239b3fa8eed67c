"""The corpus build: every source's pieces -> labelled, de-duplicated, split 8-bar segments in one cache file.

Work is spread over worker processes by item (file); each item's result is cached on disk keyed by
the file's size and modification time, so a re-run only parses what changed. A bad file never stops
the build: its error becomes a line in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.data.cache import SEGMENT_BARS, SEGMENT_STEPS, SPLITS, CorpusCache
from engine.data.labelled import Labels
from engine.data.mood import mood_features, valence_arousal_from_features
from engine.data.readers.base import Reader, wrap_errors
from engine.data.readers.emopia import song_id
from engine.data.readers.registry import Source
from engine.data.segments import DEFAULT_HOP_BARS, piece_segments
from engine.music import Piece
from engine.labels import MOODS, STYLE_DERIVATION, STYLES, nearest_mood

# Bump when readers or segmenting change what an item yields: invalidates the parsed-item cache.
# 5: readers return labelled pieces (engine.data.labelled), Piece has no labels of its own.
PARSE_VERSION = 5
SPLIT_SEED = "tunesmith-split-1"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass
class SegmentData:
    first_bar: int
    melody: np.ndarray
    bass: np.ndarray
    chords: np.ndarray
    drums: np.ndarray  # packed uint8 per step
    has_bass: bool
    has_drums: bool
    mode: int
    digest: str


@dataclass
class PieceRecord:
    """What the build keeps of one piece: labels and its segments (the Piece itself is not kept)."""

    source: str
    name: str
    group: str  # pieces of one group share a split (clips of one song)
    style: str
    mood: str
    valence: float
    arousal: float
    mood_labelled: bool
    tempo: float
    meter: str
    bars: int
    key: str
    mood_features: list[float] = field(default_factory=list)  # engine.data.mood features, for re-estimating without re-parsing
    segments: list[SegmentData] = field(default_factory=list)
    near_empty_segments: int = 0
    excluded: str | None = None  # why the piece gives no segments (meter, too short, ...)


@dataclass
class ItemResult:
    source: str
    item: str
    records: list[PieceRecord] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def group_of(piece: Piece) -> str:
    if piece.source == "emopia":
        return f"emopia:{song_id(piece.name)}"
    base = piece.name.split("@", 1)[0]
    return f"{piece.source}:{base}"


def piece_record(piece: Piece, labels: Labels, default_style: str) -> PieceRecord:
    """Label one piece (the source's style, else `default_style`; its mood labels, else an estimate) and cut it into segments."""
    labelled = labels.has_mood
    features = mood_features(piece)
    if labelled:
        valence, arousal = float(labels.valence), float(labels.arousal)
    else:
        valence, arousal = valence_arousal_from_features(features)
    style = labels.style if labels.style in STYLES else default_style
    record = PieceRecord(
        source=piece.source, name=piece.name, group=group_of(piece), style=style,
        mood=labels.mood or nearest_mood(valence, arousal), valence=valence, arousal=arousal, mood_labelled=labelled,
        tempo=float(piece.tempo), meter=f"{piece.meter.numerator}/{piece.meter.denominator}", bars=piece.bars, key=piece.key.name,
        mood_features=[float(x) for x in features],
    )
    try:
        segments, near_empty = piece_segments(piece, SEGMENT_BARS, DEFAULT_HOP_BARS)
    except ValueError as exc:
        record.excluded = str(exc)
        return record
    record.near_empty_segments = near_empty
    for seg in segments:
        e = seg.encoded
        record.segments.append(SegmentData(seg.first_bar, e.melody, e.bass, e.chords, seg.packed_drums, e.has_bass, e.has_drums, e.mode, seg.digest()))
    if not segments:
        record.excluded = "too short" if piece.bars < SEGMENT_BARS else "only near-empty 8-bar windows (too few melody notes)"
    return record


def process_item(task: tuple[str, Reader, str, str]) -> ItemResult:
    """Worker: read one item and turn its pieces into records. Never raises."""
    source, reader, item, default_style = task
    # Real-world files trip pretty_midi/music21 warnings by the thousand; failures are reported instead.
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    result = ItemResult(source, item)
    try:
        for piece, labels in reader.read(item):
            try:
                result.records.append(piece_record(piece, labels, default_style))
            except Exception as exc:  # one odd piece must not lose the item's others
                result.records.append(PieceRecord(source, piece.name, group_of(piece), default_style, "", 0.0, 0.0, False,
                                                  float(piece.tempo), "", piece.bars, "", excluded=f"segmenting failed: {wrap_errors(piece.name, exc)}"))
    except Exception as exc:
        result.error = str(wrap_errors(item, exc))
    result.seconds = time.perf_counter() - started
    return result


def _item_key(source: str, item: str, reader_version: int = 1) -> str:
    path = Path(item.split("::", 1)[0])
    try:
        st = path.stat()
        stamp = f"{st.st_size}:{int(st.st_mtime)}"
    except OSError:
        stamp = "missing"
    return hashlib.sha1(f"{PARSE_VERSION}.{reader_version}|{source}|{item}|{stamp}".encode()).hexdigest()


class ItemCache:
    """Parsed-item results on disk, so re-runs skip unchanged files."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> ItemResult | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.pkl"
        try:
            with path.open("rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return None

    def put(self, key: str, result: ItemResult) -> None:
        if self.folder is None:
            return
        tmp = self.folder / f"{key}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self.folder / f"{key}.pkl")


def split_of(group: str) -> int:
    """Train/valid/test index for a group, stable across builds (a hash, not a shuffle)."""
    u = int(hashlib.sha1(f"{SPLIT_SEED}|{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return 0 if u < SPLIT_FRACTIONS[0] else 1 if u < SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1] else 2


@dataclass
class BuildResult:
    cache: CorpusCache
    manifest: dict
    cache_path: Path
    manifest_path: Path


ProgressCallback = Callable[[str, int, int], None]  # (source, done, total)


def build_corpus(
    sources: Sequence[Source],
    out: Path,
    *,
    workers: int = 2,
    item_cache_dir: Path | None = None,
    refresh: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildResult:
    """Read every source, write the cache to `out` and the manifest beside it (`<out stem>.manifest.json`).

    Parsed items are kept in `item_cache_dir` (when given) for the next run; `refresh` re-parses
    every item instead of reading them from there.
    """
    started = time.perf_counter()
    tasks: list[tuple[str, Reader, str, str]] = []
    listing_errors: list[dict] = []
    for src in sources:
        try:
            items = src.items()
        except Exception as exc:
            listing_errors.append({"source": src.name, "item": str(src.root), "reason": str(wrap_errors(str(src.root), exc))})
            continue
        tasks.extend((src.name, src.reader, item, src.style) for item in items)
    cache = ItemCache(item_cache_dir)
    results: dict[int, ItemResult] = {}
    todo = []
    for i, (source, reader, item, _) in enumerate(tasks):
        hit = None if refresh else cache.get(_item_key(source, item, reader.version))
        if hit is not None:
            results[i] = hit
        else:
            todo.append(i)
    done = len(results)
    if progress:
        progress("cached", done, len(tasks))
    if todo:
        if workers > 1 and len(todo) > 1:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                for i, res in zip(todo, pool.imap(process_item, [tasks[i] for i in todo], chunksize=1)):
                    results[i] = res
                    cache.put(_item_key(res.source, res.item, tasks[i][1].version), res)
                    done += 1
                    if progress:
                        progress(res.source, done, len(tasks))
        else:
            for i in todo:
                res = process_item(tasks[i])
                results[i] = res
                cache.put(_item_key(res.source, res.item, tasks[i][1].version), res)
                done += 1
                if progress:
                    progress(res.source, done, len(tasks))
    ordered = [results[i] for i in range(len(tasks))]
    corpus, manifest = assemble(ordered, sources, listing_errors)
    manifest["build_seconds"] = round(time.perf_counter() - started, 1)
    manifest["parsed_items"] = len(todo)
    manifest["cached_items"] = len(tasks) - len(todo)
    corpus.meta["build_seconds"] = manifest["build_seconds"]
    out = Path(out)
    corpus.save(out)
    manifest["cache_path"] = str(out)
    manifest["cache_bytes"] = out.stat().st_size
    manifest_path = out.with_name(out.stem + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return BuildResult(corpus, manifest, out, manifest_path)


def assemble(results: Sequence[ItemResult], sources: Sequence[Source], listing_errors: Sequence[dict] = ()) -> tuple[CorpusCache, dict]:
    """Records -> cache arrays (duplicates removed, split by group) and the manifest dictionary."""
    seen: set[str] = set()
    rows: list[tuple[PieceRecord, SegmentData, int]] = []
    pieces_meta: list[dict] = []
    dropped: list[dict] = list(listing_errors)
    per_source: dict[str, Counter] = defaultdict(Counter)
    not_in_cache_meters: Counter = Counter()
    duplicate_segments: Counter = Counter()
    scale = _estimated_mood_scale([rec for res in results for rec in res.records])
    groups = _tune_families([rec for res in results for rec in res.records if not rec.excluded])
    for res in results:
        per_source[res.source]["items"] += 1
        per_source[res.source]["parse_seconds"] += round(res.seconds, 3)
        if res.error:
            dropped.append({"source": res.source, "item": res.item, "reason": res.error})
            per_source[res.source]["items_failed"] += 1
            continue
        for rec in res.records:
            per_source[res.source]["pieces_read"] += 1
            if not rec.mood_labelled and rec.mood_features:
                # Re-estimated here, not in the worker, so that new estimator weights apply to cached items too.
                rec.valence, rec.arousal = scale.apply(*valence_arousal_from_features(np.array(rec.mood_features)))
                rec.mood = nearest_mood(rec.valence, rec.arousal)
            if rec.excluded:
                dropped.append({"source": res.source, "item": rec.name, "reason": rec.excluded})
                if "not in the model cache" in rec.excluded:
                    not_in_cache_meters[rec.meter] += 1
                continue
            kept = [s for s in rec.segments if s.digest not in seen]
            duplicate_segments[res.source] += len(rec.segments) - len(kept)
            seen.update(s.digest for s in kept)
            if not kept:
                dropped.append({"source": res.source, "item": rec.name, "reason": "every segment duplicates one already in the corpus"})
                continue
            piece_index = len(pieces_meta)
            split = split_of(groups.find(rec.group))
            pieces_meta.append({"source": rec.source, "name": rec.name, "style": rec.style, "mood": rec.mood, "split": SPLITS[split],
                                "key": rec.key, "tempo": rec.tempo, "bars": rec.bars, "valence": rec.valence, "arousal": rec.arousal,
                                "mood_labelled": rec.mood_labelled})
            per_source[res.source]["pieces"] += 1
            per_source[res.source]["segments"] += len(kept)
            for s in kept:
                rows.append((rec, s, piece_index))
    n = len(rows)
    mood_check = mood_agreement_from_records([rec for res in results for rec in res.records])
    styles = list(STYLES)
    moods = list(MOODS)
    corpus = CorpusCache(
        melody=np.zeros((n, SEGMENT_STEPS), np.int16), bass=np.zeros((n, SEGMENT_STEPS), np.int16),
        chords=np.zeros((n, SEGMENT_STEPS // 4), np.int16), drums=np.zeros((n, SEGMENT_STEPS), np.uint8),
        has_bass=np.zeros(n, bool), has_drums=np.zeros(n, bool), mode=np.zeros(n, np.int8), style=np.zeros(n, np.int8),
        mood=np.zeros(n, np.int8), valence=np.zeros(n, np.float32), arousal=np.zeros(n, np.float32),
        mood_labelled=np.zeros(n, bool), tempo=np.zeros(n, np.float32), split=np.zeros(n, np.int8),
        piece=np.zeros(n, np.int32), first_bar=np.zeros(n, np.int16),
        pieces=pieces_meta, styles=styles, moods=moods,
    )
    for i, (rec, s, pi) in enumerate(rows):
        corpus.melody[i], corpus.bass[i], corpus.chords[i], corpus.drums[i] = s.melody, s.bass, s.chords, s.drums
        corpus.has_bass[i], corpus.has_drums[i], corpus.mode[i] = s.has_bass, s.has_drums, s.mode
        corpus.style[i] = styles.index(rec.style)
        corpus.mood[i] = moods.index(rec.mood) if rec.mood in moods else moods.index(nearest_mood(rec.valence, rec.arousal))
        corpus.valence[i], corpus.arousal[i], corpus.mood_labelled[i] = rec.valence, rec.arousal, rec.mood_labelled
        corpus.tempo[i] = rec.tempo
        corpus.split[i] = SPLITS.index(pieces_meta[pi]["split"])
        corpus.piece[i], corpus.first_bar[i] = pi, s.first_bar
    manifest = _manifest(corpus, per_source, dropped, not_in_cache_meters, duplicate_segments, sources)
    manifest["mood_agreement"] = mood_check
    for c in manifest["sources"].values():
        c["parse_seconds"] = round(c.get("parse_seconds", 0.0), 1)
    corpus.meta = {
        "segment_bars": SEGMENT_BARS, "hop_bars": DEFAULT_HOP_BARS, "key_normalised": True,
        "augmentation": "segments are stored in C major / C minor; training transposes them (e.g. -5..+6 semitones)",
        "style_derivation": STYLE_DERIVATION, "split_seed": SPLIT_SEED, "sources": [s.name for s in sources],
        "estimated_mood_quantiles": scale.to_dict(),
    }
    return corpus, manifest


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


FAMILY_RUN_EVENTS = 12  # a shared run of this many notes (interval class and rhythm) makes two pieces one tune family
FAMILY_MAX_GROUPS = 12  # a run found in more groups than this is an idiom (a scale, an arpeggio), not a tune


def _tune_families(records: Sequence[PieceRecord]) -> _UnionFind:
    """Groups joined when their pieces share a long melodic run: one chorale tune harmonised in several
    cantatas, a folk tune in two collections. They must share a split, or the test set holds copies of
    training melodies."""
    from engine.evaluation.novelty import melody_events, ngram_hashes, token_melody

    families = _UnionFind()
    names: list[str] = []
    ids: dict[str, int] = {}
    hashes, owners = [], []
    for rec in records:
        families.find(rec.group)
        gid = ids.setdefault(rec.group, len(names))
        if gid == len(names):
            names.append(rec.group)
        for seg in rec.segments:
            h = ngram_hashes(melody_events(*token_melody(seg.melody)), FAMILY_RUN_EVENTS)
            hashes.append(h)
            owners.append(np.full(len(h), gid, dtype=np.int64))
    if not hashes:
        return families
    pairs = np.unique(np.stack([np.concatenate(hashes), np.concatenate(owners).astype(np.uint64)], axis=1), axis=0)
    bounds = np.flatnonzero(np.diff(pairs[:, 0]) != 0) + 1
    for run in np.split(pairs[:, 1], bounds):
        if 2 <= len(run) <= FAMILY_MAX_GROUPS:
            for other in run[1:]:
                families.union(names[int(run[0])], names[int(other)])
    return families


@dataclass
class EstimatedMoodScale:
    """Maps raw estimator outputs to their percentile among the corpus's unlabelled pieces, spread over [-0.9, 0.9].

    The estimator's raw values crowd near the middle of the plane, where the nearest named mood is
    almost always "dreamy"; ranking spreads the estimated pieces over all six moods while keeping
    their order on each axis. The quantiles travel in the cache's meta so a raw estimate can be
    placed on the same scale later.
    """

    valence_quantiles: np.ndarray
    arousal_quantiles: np.ndarray

    def apply(self, valence: float, arousal: float) -> tuple[float, float]:
        return self._place(valence, self.valence_quantiles), self._place(arousal, self.arousal_quantiles)

    @staticmethod
    def _place(value: float, quantiles: np.ndarray) -> float:
        if len(quantiles) < 2:
            return value
        rank = float(np.interp(value, quantiles, np.linspace(0.0, 1.0, len(quantiles))))
        return round(0.9 * (2.0 * rank - 1.0), 3)

    def to_dict(self) -> dict:
        return {"valence": [round(float(q), 4) for q in self.valence_quantiles], "arousal": [round(float(q), 4) for q in self.arousal_quantiles]}


def _estimated_mood_scale(records: Sequence[PieceRecord]) -> EstimatedMoodScale:
    raw = np.array([valence_arousal_from_features(np.array(r.mood_features)) for r in records if not r.mood_labelled and r.mood_features])
    if len(raw) < 20:
        return EstimatedMoodScale(np.array([]), np.array([]))
    qs = np.linspace(0, 1, 41)
    return EstimatedMoodScale(np.quantile(raw[:, 0], qs), np.quantile(raw[:, 1], qs))


def _manifest(corpus: CorpusCache, per_source: dict, dropped: list[dict], meters: Counter, duplicates: Counter, sources: Sequence[Source]) -> dict:
    def table(index: np.ndarray, names: list[str]) -> dict:
        out = {}
        for k, name in enumerate(names):
            mask = index == k
            piece_ids = set(corpus.piece[mask].tolist())
            out[name] = {"pieces": len(piece_ids), "segments": int(mask.sum()),
                         **{split: int((mask & (corpus.split == j)).sum()) for j, split in enumerate(SPLITS)}}
        return out

    reasons = Counter(_reason_kind(d["reason"]) for d in dropped)
    return {
        "segments": len(corpus),
        "pieces": len(corpus.pieces),
        "splits": {s: int((corpus.split == j).sum()) for j, s in enumerate(SPLITS)},
        "styles": table(corpus.style, corpus.styles),
        "moods": table(corpus.mood, corpus.moods),
        "mood_labelled_segments": int(corpus.mood_labelled.sum()),
        "sources": {name: dict(c) | {"duplicate_segments": duplicates.get(name, 0)} for name, c in per_source.items()},
        "source_notes": {s.name: {"style": s.style, "limit": s.limit, "note": s.note} for s in sources},
        "not_in_cache_meters": dict(meters),
        "dropped_summary": dict(reasons.most_common()),
        "dropped": dropped,
        "style_derivation": STYLE_DERIVATION,
        "styles_without_data": [s for s in STYLES if not (corpus.style == STYLES.index(s)).any()],
    }


def _reason_kind(reason: str) -> str:
    """A short category for a drop reason, for the manifest summary."""
    low = reason.lower()
    for needle, kind in (("not in the model cache", "meter not in the model cache yet"), ("too short", "shorter than 6 bars"),
                         ("near-empty", "near-empty (too few melody notes)"), ("duplicate", "duplicate"),
                         ("no melody", "no melody"), ("no notes", "no notes"), ("meter", "unsupported or changing meter"),
                         ("music21 cannot parse", "music21 parse error"), ("unreadable", "unreadable file")):
        if needle in low:
            return kind
    return "other: " + reason.split(": ", 1)[-1][:60]



def mood_agreement_from_records(records: Sequence[PieceRecord]) -> dict:
    """The mood estimator checked against the labelled pieces of this build (EMOPIA, VGMIDI), from their kept features."""
    from engine.data.mood_calibration import LabelledSet, calibrate

    by_source: dict[str, list[PieceRecord]] = defaultdict(list)
    for rec in records:
        if rec.mood_labelled and rec.mood_features:
            by_source[rec.source].append(rec)
    sets = [LabelledSet(name, np.array([r.mood_features for r in recs]), np.array([(r.valence, r.arousal) for r in recs]), [r.group for r in recs])
            for name, recs in sorted(by_source.items()) if len(recs) >= 10]
    if not sets:
        return {}
    report = calibrate(sets)
    return {
        "rows": [{"set": name, "weights": how, "pieces": a.n, "valence_sign": a.valence_sign, "arousal_sign": a.arousal_sign, "quadrant": a.quadrant}
                 for name, how, a in report.rows],
        "refitted_weights": {"valence": list(report.fitted.valence), "arousal": list(report.fitted.arousal)},
    }
