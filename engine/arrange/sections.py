"""The plan's form, bar by bar of the arrangement: which section plays, how hard, who plays, where phrases end.

Bars here count the whole arrangement (intro, the piece's bars, the ending bar), 0-based. The intro takes
the first section's band and energy; bars past the plan's last section keep the last section and end a
phrase every PHRASE_BARS bars; the ending bar is the whole band.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.plan.plan import MusicalPlan, Phrase

PHRASE_BARS = 4  # phrase length for bars the plan does not cover
BUILD_MARGIN = 0.05  # the next section must be this much more energetic for the bar before it to build


@dataclass(frozen=True)
class BarForm:
    """One bar's place in the form. energy is in [0, 1]; phrase_position in [0, 1) is where the bar sits in its phrase."""

    section: int  # index into plan.sections (-1 for the ending bar)
    section_name: str
    energy: float
    roles: frozenset[str]
    section_start: bool  # the bar opens a section (or the melody's entrance): a crash
    phrase_start: bool
    phrase_end: bool  # the phrase's last bar: a fill
    section_end: bool  # the last bar of a section (or of the intro): a full fill, not a light one
    builds: bool  # the next bar opens a more energetic section: this bar crescendos into it
    phrase_position: float


class FormMap:
    """BarForm per arrangement bar, from the plan, the band's roles and the arrangement's layout in bars."""

    def __init__(self, plan: MusicalPlan, band: set[str] | frozenset[str], intro_bars: int, piece_bars: int):
        self.intro_bars, self.piece_bars = intro_bars, piece_bars
        self.band = frozenset(band)
        body = [self._body_bar(plan, b) for b in range(piece_bars)]
        first = body[0]
        intro = [BarForm(first.section, "intro", round(max(0.0, first.energy - 0.1), 3), first.roles - {"Melody"},
                         i == 0, i == 0, i == intro_bars - 1, i == intro_bars - 1, False, i / intro_bars)
                 for i in range(intro_bars)]
        ending = BarForm(-1, "ending", body[-1].energy, self.band, False, True, True, True, False, 0.0)
        bars = intro + body + [ending]
        # A bar builds when the next bar opens a section that plays harder.
        self.bars = [replace(f, builds=i + 1 < len(bars) - 1 and bars[i + 1].section_start
                             and bars[i + 1].energy > f.energy + BUILD_MARGIN)
                     for i, f in enumerate(bars)]

    def _body_bar(self, plan: MusicalPlan, bar: int) -> BarForm:
        index = next((i for i, s in enumerate(plan.sections) if s.start_bar <= bar < s.end_bar), len(plan.sections) - 1)
        section = plan.sections[index]
        roles = (frozenset(section.roles) & self.band) if section.roles else self.band
        phrase = _phrase_at(section.phrases, bar)
        if phrase is not None:
            phrase_start, length = phrase.start_bar, phrase.bars
        else:  # past the plan (or bars its phrases leave out): phrases of PHRASE_BARS from the section's end (or start)
            origin = section.end_bar if bar >= section.end_bar else section.start_bar
            phrase_start, length = origin + (bar - origin) // PHRASE_BARS * PHRASE_BARS, PHRASE_BARS
        last_bar = bar == self.piece_bars - 1
        phrase_end = bar == phrase_start + length - 1 or last_bar
        section_end = last_bar or (bar == section.end_bar - 1)
        return BarForm(index, section.name, section.energy, roles, bar == section.start_bar or bar == 0,
                       bar == phrase_start, phrase_end, section_end, False, (bar - phrase_start) / length)

    def at_bar(self, bar: int) -> BarForm:
        return self.bars[max(0, min(bar, len(self.bars) - 1))]

    def body_phrase_starts(self) -> list[int]:
        """Arrangement bars where a phrase of the piece begins (the first one included)."""
        return [i for i, f in enumerate(self.bars[self.intro_bars:self.intro_bars + self.piece_bars], self.intro_bars) if f.phrase_start]


def _phrase_at(phrases: tuple[Phrase, ...], bar: int) -> Phrase | None:
    return next((p for p in phrases if p.start_bar <= bar < p.end_bar), None)


__all__ = ["BarForm", "FormMap"]
