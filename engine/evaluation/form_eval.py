"""`tunesmith eval --form`: generated pieces and their band arrangements measured (engine.evaluation.form)
against the real data's per-style median and interquartile range (engine.evaluation.form_reference).

Requests are fixed: for each style, `n` pieces with seeds seed, seed+1, ... and the moods in turn
(happy, energetic, calm, dreamy, sad, dark, happy, ...), `bars` bars each; each piece is arranged with
engine.arrange.arrange and its request's plan. Per style and measure the generated value is the
median over the pieces (for yes/no measures, the share of pieces), and it is "inside" when it lies in
the real interquartile range. For a yes/no measure the real figure is a share p, and the range is that
of a real sample of the same size: the 25th and 75th percentiles of Binomial(n, p) / n.
Styles without data of their own (STYLE_DERIVATION: lofi, ambient) are compared with the style they
are derived from. Where the real data has no value for a style and measure, the reference says n/a.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binom

from engine.evaluation.form import arrangement_form, piece_form
from engine.music import Piece
from engine.request import ComposeRequest
from engine.labels import MOODS, STYLE_DERIVATION
from engine.evaluation.reports import plain, to_json

DEFAULT_SEED = 900
RATE = "rate"
VALUE = "value"


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    kind: str = VALUE  # RATE: a yes/no measure summarised as a share of pieces


MEASURES: tuple[Measure, ...] = (
    Measure("phrase_repeats", "a later 4-bar phrase repeats an earlier one", RATE),
    Measure("phrase_similarity", "best later/earlier 4-bar phrase similarity"),
    Measure("lag4_similarity", "melody bar similarity, 4-bar lag"),
    Measure("other_lag_similarity", "melody bar similarity, lags 1-3, 5-7"),
    Measure("half_similarity", "A against A' (bars 1-8 vs 9-16)"),
    Measure("section_chord_match", "section 1's chords found again in place"),
    Measure("section_repeats", "section 1 repeats >= 75% of its chords later", RATE),
    Measure("melody_new_rhythm_share", "melody: share of bars with a new rhythm"),
    Measure("bass_new_rhythm_share", "bass (model): share of bars with a new rhythm"),
    Measure("band_bass_new_rhythm_share", "bass (band): share of bars with a new rhythm"),
    Measure("band_piano_new_rhythm_share", "piano (band): share of bars with a new rhythm"),
    Measure("band_drums_new_pattern_share", "drums (band): distinct bars per bar"),
    Measure("drums_new_pattern_share", "drums (model): distinct bars per bar"),
    Measure("band_melody_new_rhythm_share", "melody (band): share of bars with a new rhythm"),
    Measure("chord_changes_per_bar", "chord changes per bar"),
    Measure("starts_on_tonic", "first chord is the tonic", RATE),
    Measure("ends_on_tonic", "last chord is the tonic", RATE),
    Measure("melody_velocity_sd", "melody velocity sd (model)"),
    Measure("band_melody_velocity_sd", "melody velocity sd (as performed)"),
    Measure("band_notes_per_bar", "whole band: pitched notes per bar"),
    Measure("melody_empty_beat_share", "melody: share of empty beats"),
    Measure("band_empty_beat_share", "whole band: share of empty beats"),
)
MEASURE_BY_NAME = {m.name: m for m in MEASURES}
# Measures whose real figures are stored under another name: one real material serves both the model's
# part and the band's (Groove MIDI's drummers for drums; the real melodies for the performed melody).
REAL_NAME = {"drums_new_pattern_share": "band_drums_new_pattern_share", "band_melody_new_rhythm_share": "melody_new_rhythm_share"}

PieceGenerator = Callable[[list[ComposeRequest]], list[Piece]]
Arranger = Callable[[Piece, ComposeRequest], object]  # arranges a piece written for a request (band measures)


@dataclass
class FormRow:
    measure: str
    label: str
    kind: str
    generated: float
    defined: int  # generated pieces where the measure is defined
    real_median: float = math.nan
    real_q1: float = math.nan
    real_q3: float = math.nan
    real_n: int = 0
    inside: bool | None = None  # None: no real reference (n/a) or no generated value


@dataclass
class StyleForm:
    style: str
    reference_style: str
    rows: list[FormRow] = field(default_factory=list)

    @property
    def inside(self) -> int:
        return sum(r.inside is True for r in self.rows)

    @property
    def judged(self) -> int:
        return sum(r.inside is not None for r in self.rows)


@dataclass
class FormReport:
    generator: str
    bars: int
    n_per_style: int
    seeds: list[int]
    reference_window: int
    reference_part: str  # "reference" (train split) or "held_out" (test split)
    reference_built: str
    styles: list[StyleForm]
    second_judge: dict[str, float] = field(default_factory=dict)  # style -> share the second judge reads as requested
    second_judge_ceiling: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return plain(self)

    def to_json(self) -> str:
        return to_json(self)

    def to_markdown(self) -> str:
        return _markdown(self)

    def to_table(self):
        """Rich renderables: one table per style and a summary."""
        from rich.console import Group
        from rich.table import Table

        parts = []
        for sf in self.styles:
            derived = f" (real: {sf.reference_style} data)" if sf.reference_style != sf.style else ""
            table = Table(title=f"{sf.style}{derived}: {self.n_per_style} pieces of {self.bars} bars, seeds {self.seeds[0]}-{self.seeds[-1]}")
            for col in ("measure", "generated", "real median [IQR]", "inside"):
                table.add_column(col, justify="left" if col == "measure" else "right")
            for r in sf.rows:
                table.add_row(r.label, format_value(r.generated, r.kind), format_reference(r), {True: "yes", False: "NO", None: "n/a"}[r.inside])
            parts.append(table)
        summary = Table(title=f"Form measures inside the real IQR ({self.reference_part} split, {self.reference_window}-bar windows, "
                              f"reference built {self.reference_built})")
        summary.add_column("style")
        summary.add_column("inside / judged", justify="right")
        if self.second_judge:
            summary.add_column("second judge: generated", justify="right")
            summary.add_column("second judge: real ceiling", justify="right")
        for sf in self.styles:
            cells = [sf.style, f"{sf.inside} / {sf.judged}"]
            if self.second_judge:
                ceiling = self.second_judge_ceiling.get(sf.reference_style, math.nan)
                cells += [format_value(self.second_judge.get(sf.style, math.nan), RATE), format_value(ceiling, RATE)]
            summary.add_row(*cells)
        return Group(*parts, summary)


def _markdown(self: FormReport) -> str:
    """The report as Markdown tables: one row per measure, one column per style (generated, real median [IQR], inside)."""
    lines = [f"{self.n_per_style} pieces per style, {self.bars} bars, seeds {self.seeds[0]}-{self.seeds[-1]}, moods in turn; "
             f"real = {self.reference_part} split, {self.reference_window}-bar windows. Each cell: generated / real median [IQR], "
             "**bold** when the generated value is outside the IQR.", ""]
    lines.append("| measure | " + " | ".join(sf.style for sf in self.styles) + " |")
    lines.append("|---|" + "---:|" * len(self.styles))
    names = [r.measure for r in self.styles[0].rows] if self.styles else []
    for name in names:
        rows = [r for sf in self.styles for r in sf.rows if r.measure == name]
        if all(r.defined == 0 and r.real_n == 0 for r in rows):
            continue  # e.g. the 16- and 32-bar measures in an 8-bar report
        cells, label = [], name
        for sf in self.styles:
            row = next((r for r in sf.rows if r.measure == name), None)
            if row is None:
                cells.append("")
                continue
            label = row.label
            generated = format_value(row.generated, row.kind)
            cells.append(f"**{generated}** / {format_reference(row)}" if row.inside is False else f"{generated} / {format_reference(row)}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| **inside / judged** | " + " | ".join(f"{sf.inside} / {sf.judged}" for sf in self.styles) + " |")
    if self.second_judge:
        lines.append("| second judge: read as the style (real ceiling) | " + " | ".join(
            f"{format_value(self.second_judge.get(sf.style, math.nan), RATE)} ({format_value(self.second_judge_ceiling.get(sf.reference_style, math.nan), RATE)})"
            for sf in self.styles) + " |")
    return "\n".join(lines) + "\n"


def format_value(v: float, kind: str) -> str:
    if v is None or math.isnan(v):
        return "-"
    return f"{100 * v:.0f}%" if kind == RATE else f"{v:.2f}"


def format_reference(row: FormRow) -> str:
    if row.real_n == 0:
        return "n/a"
    return f"{format_value(row.real_median, row.kind)} [{format_value(row.real_q1, row.kind)}-{format_value(row.real_q3, row.kind)}]"


def form_requests(style: str, n: int, bars: int, seed: int = DEFAULT_SEED) -> list[ComposeRequest]:
    """The fixed requests of one style: seeds seed..seed+n-1, the moods in turn."""
    moods = list(MOODS)
    return [ComposeRequest(style=style, mood=moods[i % len(moods)], seed=seed + i, bars=bars) for i in range(n)]


def measure_pieces(pieces: Sequence[Piece], requests: Sequence[ComposeRequest], arrange: Arranger | None) -> list[dict[str, float]]:
    """Every measure of each piece (PieceForm) and, when `arrange` is given, of its arrangement (BandForm)."""
    out = []
    for piece, request in zip(pieces, requests):
        values = piece_form(piece).as_dict()
        if arrange is not None:
            arrangement = arrange(piece, request)
            values.update(arrangement_form(arrangement, piece.bars).as_dict())
        out.append(values)
    return out


def summarise_generated(values: Sequence[float], kind: str) -> tuple[float, int]:
    """(median, or share for a yes/no measure; how many pieces define it)."""
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return math.nan, 0
    return (float(np.mean(finite)) if kind == RATE else float(np.median(finite))), len(finite)


def reference_window(reference: dict, bars: int) -> int:
    """The reference's largest window that is at most `bars` (the smallest when none is)."""
    windows = sorted(int(w) for w in reference["windows"])
    if not windows:
        raise ValueError("the form reference has no windows")
    fitting = [w for w in windows if w <= bars]
    return fitting[-1] if fitting else windows[0]


def compare(style: str, measured: Sequence[dict[str, float]], reference: dict, window: int, part: str = "reference") -> StyleForm:
    """Rows of one style: each registered measure (and any extra band part the arrangement has) against the reference."""
    base = STYLE_DERIVATION.get(style, style)
    entry = reference["windows"].get(str(window), {}).get(base, {}).get(part, {})
    names = [m.name for m in MEASURES] + sorted({k for values in measured for k in values} - set(MEASURE_BY_NAME))
    result = StyleForm(style, base)
    for name in names:
        measure = MEASURE_BY_NAME.get(name) or Measure(name, name.removeprefix("band_").replace("_new_rhythm_share", " (band): share of bars with a new rhythm"))
        generated, defined = summarise_generated([v.get(name, math.nan) for v in measured], measure.kind)
        row = FormRow(name, measure.label, measure.kind, generated, defined)
        real = entry.get(REAL_NAME.get(name, name))
        if real is not None:
            row.real_n = int(real["n"])
            if measure.kind == RATE:
                p = float(real["mean"])
                row.real_median = p
                size = max(defined, 1)
                row.real_q1, row.real_q3 = float(binom.ppf(0.25, size, p)) / size, float(binom.ppf(0.75, size, p)) / size
            else:
                row.real_median, row.real_q1, row.real_q3 = float(real["median"]), float(real["q1"]), float(real["q3"])
            if defined:
                row.inside = bool(row.real_q1 - 1e-9 <= generated <= row.real_q3 + 1e-9)
        result.rows.append(row)
    return result


def evaluate_form(generate: PieceGenerator, styles: Sequence[str], reference: dict, *, n: int = 8, bars: int = 8, seed: int = DEFAULT_SEED,
                  arrange: Arranger | None = None, name: str = "generator", part: str = "reference", second_judge=None,
                  progress: Callable[[str], None] = lambda _s: None) -> FormReport:
    """Generate `n` pieces of `bars` bars per style (form_requests), measure them and their arrangements, compare with `reference`.
    With `second_judge` (engine.evaluation.second_judge.SecondJudge), also the share of pieces it reads as their style."""
    if part not in ("reference", "held_out"):
        raise ValueError("part must be 'reference' (train split) or 'held_out' (test split)")
    window = reference_window(reference, bars)
    report = FormReport(name, bars, n, list(range(seed, seed + n)), window, part, reference.get("built", "?"), [])
    if second_judge is not None:
        report.second_judge_ceiling = dict(second_judge.ceiling)
    for style in styles:
        progress(style)
        requests = form_requests(style, n, bars, seed)
        pieces = generate(requests)
        if len(pieces) != len(requests):
            raise ValueError(f"the generator returned {len(pieces)} pieces for {len(requests)} requests")
        report.styles.append(compare(style, measure_pieces(pieces, requests, arrange), reference, window, part))
        if second_judge is not None:
            base = STYLE_DERIVATION.get(style, style)
            read = second_judge.predict_pieces([p for p in pieces if p.melody])
            report.second_judge[style] = float(np.mean([r == base for r in read])) if read else math.nan
    return report
