"""The real-data reference for the form measures: per style and window size, the median and interquartile
range of each measure (engine.evaluation.form) over real pieces, written to a small JSON file that ships
(engine/evaluation/form_reference.json), so `tunesmith eval --form` works without the data folder.

Real pieces come from the corpus readers (engine.data.readers.registry: the shared data sets and
music21's corpus) with the corpus build's style labels and its piece-level split (engine.data.build.
split_of): the reference is the **train** split; the **test** split's figures are stored beside it as a
held-out check (nobody tunes on them; `tunesmith eval --form --held-out` judges against them).

Windows: a piece is cut into windows of 8, 16 or 32 bars starting at its first bar with a melody note
(the bar after, when that first bar holds only a pickup in its second half),
at most MAX_WINDOWS_PER_PIECE per piece (so long pieces do not outweigh short ones); a window counts when
its melody sounds in at least half its bars. Start and end on the tonic are measured on the whole piece.
Some measures need what only some sources hold, and take only those (else "n/a"):
- harmony (chord changes, section chords, tonic at start and end): sources whose chords are annotated
  (HARMONY_SOURCES); where a reader estimates chords from the notes (music21's folk and celtic
  collections, the Bach chorales, EMOPIA, VGMIDI) the figures would measure the estimator, not music;
- velocities: performances with dynamics only (VELOCITY_SOURCES); scores carry one velocity;
- bass rhythm: played bass lines only (WJD's bass is one annotated pitch per beat, not a rhythm);
- drums: the Groove MIDI Dataset's 4/4 beats (drums only), under the style its info.csv names;
- the band (notes per bar, empty beats, the piano's rhythms): POP909's MIDI (melody, bridge and piano
  tracks) with bars at its annotated downbeats.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import multiprocessing
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.data.build import group_of, split_of
from engine.data.cache import SPLITS
from engine.data.readers.pop909 import read_downbeats
from engine.data.readers.registry import Source
from engine.evaluation.form import (
    GRID_STEPS_PER_BAR, OTHER_LAGS, PHRASE_BARS, PHRASE_REPEAT_THRESHOLD, SECTION_BARS, SECTION_REPEAT_SHARE, band_form, bar_sets,
    ends_on_tonic, midi_notes_on_grid, piece_form, starts_on_tonic,
)
from engine.music import Meter, Piece
from engine.labels import STYLES

REFERENCE_FILE = Path(__file__).with_name("form_reference.json")
SCHEMA_VERSION = 1
WINDOW_BARS = (8, 16, 32)
MAX_WINDOWS_PER_PIECE = 4
MIN_WINDOWS = 10  # fewer real windows than this for a style and measure: no reference ("n/a")
DEFAULT_ITEMS_PER_SOURCE = 400  # items (files or tunes) read per source, spread evenly over its listing
VELOCITY_SOURCES = frozenset({"pop909", "emopia", "wjd-solos"})
HARMONY_SOURCES = frozenset({"wjd-solos", "chord-melody", "impro-visor", "openewld", "pop909", "cocopops", "nottingham"})
HARMONY_MEASURES = ("chord_changes_per_bar", "section_chord_match", "section_repeats")
BASS_RHYTHM_EXCLUDED = frozenset({"wjd-solos"})
REFERENCE_SPLIT, HELD_OUT_SPLIT = "train", "test"

VELOCITY_MEASURES = ("melody_velocity_sd", "band_melody_velocity_sd")
TONIC_MEASURES = ("starts_on_tonic", "ends_on_tonic")
PIECE_MEASURES = (
    "phrase_similarity", "phrase_repeats", "lag4_similarity", "other_lag_similarity", "half_similarity", "section_chord_match",
    "section_repeats", "melody_new_rhythm_share", "bass_new_rhythm_share", "chord_changes_per_bar", "melody_velocity_sd",
    "melody_empty_beat_share",
)
# Band measures and the real material each is measured on.
BAND_MEASURES = (
    "band_notes_per_bar", "band_empty_beat_share", "band_melody_velocity_sd", "band_drums_new_pattern_share",
    "band_bass_new_rhythm_share", "band_piano_new_rhythm_share",
)


@dataclass
class WindowValues:
    """Measures of one real window (or whole piece, for the tonic measures)."""

    style: str
    split: str
    source: str
    bars: int
    values: dict[str, float]


@dataclass
class ItemOutcome:
    source: str
    item: str
    pieces: int = 0
    styles: dict[str, int] = field(default_factory=dict)  # pieces per style
    windows: list[WindowValues] = field(default_factory=list)
    error: str | None = None


def first_phrase_bar(rhythms: Sequence[frozenset]) -> int | None:
    """The bar the music starts in: the first bar with an onset, or the bar after it when all of its onsets
    lie in its second half (a pickup into the next bar). None when nothing sounds."""
    sounding = [i for i, r in enumerate(rhythms) if r]
    if not sounding:
        return None
    first = sounding[0]
    pickup = min(rhythms[first]) >= GRID_STEPS_PER_BAR // 2 and first + 1 < len(rhythms) and bool(rhythms[first + 1])
    return first + 1 if pickup else first


def window_starts(rhythms: Sequence[frozenset], size: int, max_windows: int = MAX_WINDOWS_PER_PIECE) -> list[int]:
    """First bars of the windows of `size` bars (rhythms: each bar's onset steps, 16 a bar): from
    first_phrase_bar, back to back, each with at least half its bars sounding; at most `max_windows`."""
    first = first_phrase_bar(rhythms)
    if first is None:
        return []
    sounding = [bool(r) for r in rhythms]
    starts = []
    for start in range(first, len(sounding) - size + 1, size):
        if sum(sounding[start:start + size]) * 2 >= size:
            starts.append(start)
        if len(starts) == max_windows:
            break
    return starts


def piece_window_values(piece: Piece, style: str, split: str, windows: Iterable[int] = WINDOW_BARS) -> list[WindowValues]:
    """The piece's windows' measures under the rules in the module docstring (melody pieces and drums-only pieces)."""
    out: list[WindowValues] = []
    if piece.meter != Meter(4, 4):
        return out
    drums_only = not piece.melody and bool(piece.drums)
    velocity = piece.source in VELOCITY_SOURCES
    for size in windows:
        if drums_only:
            for start in window_starts(bar_sets(piece.drums, piece.bars, piece.steps_per_bar, with_pitch=False), size):
                form = piece_form(piece.window(start, size))
                out.append(WindowValues(style, split, piece.source, size, {"band_drums_new_pattern_share": form.drums_new_pattern_share}))
            continue
        for start in window_starts(bar_sets(piece.melody, piece.bars, piece.steps_per_bar, with_pitch=False), size):
            values = {k: v for k, v in piece_form(piece.window(start, size)).as_dict().items() if k in PIECE_MEASURES}
            if not velocity:
                values.pop("melody_velocity_sd")
            else:
                values["band_melody_velocity_sd"] = values["melody_velocity_sd"]
            if piece.source in BASS_RHYTHM_EXCLUDED:
                values.pop("bass_new_rhythm_share")
            else:
                values["band_bass_new_rhythm_share"] = values["bass_new_rhythm_share"]
            if piece.source not in HARMONY_SOURCES:
                for name in HARMONY_MEASURES:
                    values.pop(name)
            out.append(WindowValues(style, split, piece.source, size, values))
        if piece.melody and piece.source in HARMONY_SOURCES:
            out.append(WindowValues(style, split, piece.source, size, {"starts_on_tonic": starts_on_tonic(piece), "ends_on_tonic": ends_on_tonic(piece)}))
    return out


def pop909_band_values(midi_path: Path, style: str, split: str, windows: Iterable[int] = WINDOW_BARS) -> list[WindowValues]:
    """Band measures of a POP909 MIDI file (tracks MELODY, BRIDGE, PIANO), bars at beat_midi.txt's downbeats."""
    import pretty_midi

    beats = midi_path.parent / "beat_midi.txt"
    if not beats.is_file():
        return []
    downbeats = read_downbeats(beats)
    if len(downbeats) < 2:
        return []
    bar_times = downbeats + [downbeats[-1] + (downbeats[-1] - downbeats[-2])]
    pm = pretty_midi.PrettyMIDI(str(midi_path))
    for inst in pm.instruments:  # POP909's track names, as the arranger names its roles
        inst.name = {"MELODY": "Melody", "BRIDGE": "Bridge", "PIANO": "Piano"}.get(inst.name.strip().upper(), inst.name)
    melody = next((i for i in pm.instruments if i.name == "Melody"), None)
    if melody is None:
        return []
    bars = len(bar_times) - 1
    rhythms = bar_sets(midi_notes_on_grid(melody, bar_times, 0, bars), bars, GRID_STEPS_PER_BAR, with_pitch=False)
    out = []
    for size in windows:
        for start in window_starts(rhythms, size):
            form = band_form(pm, bar_times, start, size)
            out.append(WindowValues(style, split, "pop909", size, {
                "band_notes_per_bar": form.notes_per_bar, "band_empty_beat_share": form.empty_beat_share,
                "band_piano_new_rhythm_share": form.part_new_rhythm_share.get("Piano", math.nan),
            }))
    return out


def measure_item(task: tuple[Source, str]) -> ItemOutcome:
    """Worker: read one item and measure its pieces' windows. Never raises; a failure becomes the outcome's error."""
    source, item = task
    warnings.filterwarnings("ignore")
    outcome = ItemOutcome(source.name, item)
    try:
        for piece, labels in source.reader.read(item):
            style = labels.style if labels.style in STYLES else source.style
            if style not in STYLES:
                continue
            split = SPLITS[split_of(group_of(piece))]
            outcome.pieces += 1
            outcome.styles[style] = outcome.styles.get(style, 0) + 1
            outcome.windows += piece_window_values(piece, style, split)
            if source.name == "pop909":
                outcome.windows += pop909_band_values(Path(item), style, split)
    except Exception as exc:  # a bad file must not stop the build
        outcome.error = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    return outcome


def spread_items(items: Sequence[str], limit: int | None) -> list[str]:
    """At most `limit` items, evenly spaced over the sorted listing (so a capped source still spans its collections)."""
    if not limit or len(items) <= limit:
        return list(items)
    picks = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]


def reference_sources(shared_dir: Path | None) -> list[Source]:
    """The corpus build's sources plus Groove MIDI's 4/4 beats (fills left out), for the drums."""
    from engine.data.readers.registry import default_sources, drum_sources

    sources = default_sources(shared_dir)
    if shared_dir is not None and shared_dir.is_dir():
        sources += drum_sources(shared_dir)
    return sources


def _source_items(source: Source) -> list[str]:
    items = source.items()
    if source.name == "groove-midi":
        items = [i for i in items if "_beat_4-4" in Path(i).name]
    return items


def summarise(values: Sequence[float]) -> dict[str, float] | None:
    """median, q1, q3, mean and n of the finite values; None under MIN_WINDOWS of them."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(arr) < MIN_WINDOWS:
        return None
    q1, med, q3 = np.percentile(arr, [25, 50, 75])
    return {"median": round(float(med), 4), "q1": round(float(q1), 4), "q3": round(float(q3), 4),
            "mean": round(float(arr.mean()), 4), "n": int(len(arr))}


def aggregate(windows: Iterable[WindowValues]) -> dict:
    """{window bars: {style: {"reference": {measure: summary}, "held_out": {...}, "sources": {source: windows}}}}
    (windows counted over every split)."""
    pools: dict[tuple[int, str, str, str], list[float]] = defaultdict(list)
    sources: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for w in windows:
        for name, value in w.values.items():
            pools[(w.bars, w.style, w.split, name)].append(value)
        if not set(w.values) <= set(TONIC_MEASURES):  # whole-piece entries are not windows
            sources[(w.bars, w.style)][w.source] += 1
    out: dict = {}
    for bars, style in sorted({(b, st) for b, st, _, _ in pools}):
        entry = {"sources": dict(sorted(sources.get((bars, style), {}).items())), "reference": {}, "held_out": {}}
        for split, key in ((REFERENCE_SPLIT, "reference"), (HELD_OUT_SPLIT, "held_out")):
            for name in PIECE_MEASURES + TONIC_MEASURES + BAND_MEASURES:
                summary = summarise(pools.get((bars, style, split, name), []))
                if summary is not None:
                    entry[key][name] = summary
        out.setdefault(str(bars), {})[style] = entry
    return out


ProgressCallback = Callable[[str, int, int], None]


def build_reference(sources: Sequence[Source], *, items_per_source: int | None = DEFAULT_ITEMS_PER_SOURCE, workers: int = 1,
                    progress: ProgressCallback | None = None) -> dict:
    """Measure the sources' real pieces and return the reference document (see write_reference)."""
    listings = {s.name: _source_items(s) for s in sources}
    tasks = [(s, item) for s in sources for item in spread_items(listings[s.name], items_per_source)]
    outcomes: list[ItemOutcome] = []
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for i, outcome in enumerate(pool.imap(measure_item, tasks, chunksize=4), 1):
                outcomes.append(outcome)
                if progress:
                    progress(outcome.source, i, len(tasks))
    else:
        for i, task in enumerate(tasks, 1):
            outcomes.append(measure_item(task))
            if progress:
                progress(task[0].name, i, len(tasks))
    per_source: dict[str, dict] = {s.name: {"items_listed": len(listings[s.name]),
                                            "items_read": 0, "pieces": 0, "errors": 0, "styles": {}} for s in sources}
    for o in outcomes:
        stats = per_source[o.source]
        stats["items_read"] += 1
        stats["pieces"] += o.pieces
        stats["errors"] += o.error is not None
        for style, count in o.styles.items():
            stats["styles"][style] = stats["styles"].get(style, 0) + count
    return {
        "schema": SCHEMA_VERSION,
        "built": _dt.date.today().isoformat(),
        "command": "tunesmith eval --build-form-reference",
        "reference_split": REFERENCE_SPLIT,
        "held_out_split": HELD_OUT_SPLIT,
        "definitions": {
            "phrase_bars": PHRASE_BARS, "section_bars": SECTION_BARS, "phrase_repeat_threshold": PHRASE_REPEAT_THRESHOLD,
            "section_repeat_share": SECTION_REPEAT_SHARE, "other_lags": list(OTHER_LAGS), "max_windows_per_piece": MAX_WINDOWS_PER_PIECE,
            "min_windows": MIN_WINDOWS, "velocity_sources": sorted(VELOCITY_SOURCES),
            "harmony_sources": sorted(HARMONY_SOURCES), "bass_rhythm_excluded": sorted(BASS_RHYTHM_EXCLUDED),
            "items_per_source": items_per_source,
        },
        "sources": per_source,
        "windows": aggregate(w for o in outcomes for w in o.windows),
    }


def write_reference(document: dict, path: Path = REFERENCE_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


class ReferenceError(ValueError):
    """The reference file is missing or not in this version's schema."""


def load_reference(path: Path = REFERENCE_FILE) -> dict:
    """The reference document; ReferenceError naming the file when it is missing or malformed."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ReferenceError(f"{path}: no form reference ({exc}); build it with `tunesmith eval --build-form-reference`") from exc
    validate_reference(document)
    return document


def validate_reference(document: dict) -> None:
    """Raise ReferenceError unless `document` has this schema: windows -> style -> reference/held_out -> measure -> summary."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_VERSION:
        raise ReferenceError(f"form reference schema {document.get('schema') if isinstance(document, dict) else None!r} is not {SCHEMA_VERSION}")
    for key in ("built", "sources", "windows", "definitions"):
        if key not in document:
            raise ReferenceError(f"form reference lacks {key!r}")
    known = set(PIECE_MEASURES + TONIC_MEASURES + BAND_MEASURES)
    for bars, styles in document["windows"].items():
        if not bars.isdigit():
            raise ReferenceError(f"form reference window {bars!r} is not a number of bars")
        for style, entry in styles.items():
            if style not in STYLES:
                raise ReferenceError(f"form reference style {style!r} is not a Tunesmith style")
            for part in ("reference", "held_out"):
                for name, summary in entry.get(part, {}).items():
                    if name not in known:
                        raise ReferenceError(f"form reference measure {name!r} is unknown")
                    if not {"median", "q1", "q3", "n"} <= set(summary) or not summary["q1"] <= summary["median"] <= summary["q3"]:
                        raise ReferenceError(f"form reference {bars}/{style}/{name}: needs median, q1 <= median <= q3, n")
