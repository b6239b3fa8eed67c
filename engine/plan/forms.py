"""Forms per style: which phrases a piece has, which return or vary, and the chords each phrase gets.

A layout is written in 4-bar units: "verse: a a' | chorus: B B'" is two sections of two phrases. A
letter's first phrase is new material; the same letter again returns it note for note, and with a
prime (a') returns it with its ending written afresh over a cadence (how many bars it keeps: RETURN_KEEP;
in jazz, latin and blues over A's own chords, TIED_CHANGES). Pop and rock layouts of 16
and 32 bars are drawn from the phrase structures of real songs (engine.plan.pop_forms); the others are
the forms their music is known by: 12-bar blues choruses (a a b, as the blues sings), AABA for jazz and
bossa, AABB tunes for celtic and folk, periods for classical, looping hooks for game and lofi. An 8-bar
piece is an antecedent (ending open or on the dominant) and a consequent (cadencing on the tonic).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from engine.music import Chord
from engine.plan.harmony import bank, numeral_token, progression_beats
from engine.plan.plan import Phrase, Section
from engine.plan.pop_forms import learned_structures
from engine.postprocess import STYLE_RULES
from engine.tokens import chord_token

UNIT = 4  # bars per phrase unit
# How a primed return (A') of a 4-bar phrase begins: the probability of keeping 0, 1, 2 or 3 of A's bars
# note for note before its varied ending (3 of 4 reads as "the phrase repeats"), and the probability that
# its varied bars before the cadence bar keep A's rhythm under new pitches. Set per style from the real
# data's 8-bar windows (engine/evaluation/form_reference.json, train split): how often a later phrase
# repeats an earlier one (the weight of 3), how alike bars four apart are (the weight of 0 against 1-2),
# and how often a bar's rhythm is new (improvised jazz and blues lines rarely echo; reels and hornpipes do).
RETURN_KEEP: dict[str, tuple[float, float, float, float]] = {
    "jazz": (0.80, 0.12, 0.06, 0.02), "blues": (0.80, 0.14, 0.05, 0.01), "latin": (0.80, 0.13, 0.05, 0.02),
    "pop": (0.55, 0.24, 0.12, 0.09), "rock": (0.55, 0.24, 0.12, 0.09), "folk": (0.45, 0.25, 0.15, 0.15),
    "celtic": (0.20, 0.27, 0.27, 0.26), "classical": (0.65, 0.20, 0.10, 0.05), "game": (0.45, 0.25, 0.15, 0.15),
    "lofi": (0.80, 0.12, 0.06, 0.02), "ambient": (0.65, 0.20, 0.10, 0.05),
}
RHYTHM_RETURN: dict[str, float] = {
    "jazz": 0.1, "blues": 0.1, "latin": 0.2, "pop": 0.3, "rock": 0.2, "folk": 0.5, "celtic": 0.6,
    "classical": 0.5, "game": 0.5, "lofi": 0.1, "ambient": 0.5,
}

SECTION_NAMES = {"A": "verse", "B": "chorus", "C": "bridge", "D": "bridge", "E": "bridge", "F": "bridge", "G": "bridge", "H": "bridge"}
# Section energy before the mood moves it (0 hushed .. 1 full band); later repeats of a section lift a little.
SECTION_ENERGY = {"verse": 0.45, "pre-chorus": 0.6, "chorus": 0.8, "bridge": 0.55, "A": 0.55, "B": 0.7, "head": 0.6,
                  "chorus 1": 0.6, "chorus 2": 0.75, "tag": 0.6, "hook": 0.65, "part A": 0.6, "part B": 0.7,
                  "antecedent": 0.55, "consequent": 0.6, "loop": 0.6, "theme": 0.55}

# Hand layouts per style family and number of 4-bar units; pop and rock use the learned structures first.
_LAYOUTS: dict[str, dict[int, tuple[tuple[str, str], ...]]] = {
    "song": {
        1: (("verse: a", "period"),),
        2: (("verse: a a'", "period"),),
        3: (("verse: a a' | chorus: B", "verse-chorus"),),
        4: (("verse: a a' | chorus: B B'", "verse-chorus"),),
        5: (("verse: a a' | pre-chorus: P | chorus: B B'", "verse-pre-chorus-chorus"),),
        6: (("verse: a a' | chorus: B B' | verse: a a'", "verse-chorus"),),
        7: (("verse: a a' | pre-chorus: P | chorus: B B' | chorus: B B'", "verse-pre-chorus-chorus"),),
    },
    "aaba": {
        1: (("A: a", "phrase"),),
        2: (("A: a a'", "period"),),
        3: (("A: a a' | B: B", "AB"),),
        4: (("A: a a' | B: B B'", "AB"),),
        5: (("A: a a' | B: B | A: a'", "ABA"),),
        6: (("A: a a' | B: B B' | A: a a'", "ABA"),),
        7: (("A: a a' | A: a a' | B: B B' | A: a", "AABA"),),
        8: (("A: a a' | A: a a' | B: B B' | A: a a'", "AABA"),),
    },
    "tune": {
        1: (("part A: a", "phrase"),),
        2: (("part A: a a'", "period"),),
        3: (("part A: a a' | part B: B", "AB"),),
        4: (("part A: a a' | part B: B B'", "AB"), ("part A: a a' | part A: a a'", "AA")),
        5: (("part A: a a' | part B: B B' | part B: B'", "AAB"),),
        6: (("part A: a a' | part A: a a' | part B: B B'", "AAB"),),
        7: (("part A: a a' | part A: a a' | part B: B B' | part B: B'", "AABB"),),
        8: (("part A: a a' | part A: a a' | part B: B B' | part B: B B'", "AABB"),),
    },
    "period": {
        1: (("antecedent: a", "phrase"),),
        2: (("antecedent: a | consequent: a'", "period"),),
        3: (("theme: a a' | B: B", "binary"),),
        4: (("A: a a' | B: B a'", "rounded binary"), ("A: a a' | A: a a'", "double period")),
        5: (("A: a a' | B: B | A: a a'", "ternary"),),
        6: (("A: a a' | B: B B' | A: a a'", "ternary"),),
        7: (("A: a a' | A: a a' | B: B | A: a a'", "rounded binary"),),
        8: (("A: a a' | A: a a' | B: B B' | A: a a'", "rounded binary"),),
    },
    "loop": {
        1: (("hook: h", "loop"),),
        2: (("hook: h h'", "loop"),),
        3: (("hook: h h | B: B", "loop"),),
        4: (("hook: h h' | B: B h'", "loop"), ("hook: h h | hook: h h'", "loop")),
        5: (("hook: h h' | B: B B' | hook: h", "loop"),),
        6: (("hook: h h' | B: B B' | hook: h h'", "loop"),),
        # Contrast before the hook returns at bar 17: VGMIDI's 32-bar windows rarely bring bars 1-8 back at 9-16
        # (similarity 0.07 [0.03-0.17], train split; with the hook there, 0.42).
        7: (("hook: h h' | B: B B' | hook: h h' | C: C", "loop"),),
        8: (("hook: h h' | B: B B' | hook: h h' | C: C C'", "loop"),),
    },
}
# How often a piece's plain returns (the second A of AABA, a repeated chorus) come back note for note, else
# as varied returns; and how often such a varied return also takes new chords in its varied bars. Both are
# per piece, as they are measured on the real data's 32-bar windows (train split): how often a later phrase
# repeats an earlier one, and how often the first section's chords come back (1 minus that); styles without
# such data follow the nearest family (celtic as folk, lofi as jazz, classical and ambient as their tunes).
# Pop, rock and game take the rate left once the repeats their varied returns make are counted: a return
# keeping 3 of its 4 bars repeats too (RETURN_KEEP's last weight q; about k = 4 such returns in 32 bars), so
# EXACT_RETURN = 1 - (1 - real) / (1 - q)^k: pop 0.73 -> 0.61, rock 0.53 -> 0.31, game 0.70 -> 0.43. Drawn per
# return, or at the real rate itself, a 32-bar pop song repeated a phrase in 91% of pieces (real 73%).
EXACT_RETURN: dict[str, float] = {"jazz": 0.18, "blues": 0.08, "latin": 0.07, "pop": 0.61, "rock": 0.31, "folk": 0.45,
                                  "celtic": 0.84, "classical": 0.5, "game": 0.43, "lofi": 0.18, "ambient": 0.5}
NEW_CHORDS_ON_RETURN: dict[str, float] = {"jazz": 0.31, "blues": 0.06, "latin": 0.39, "pop": 0.61, "rock": 0.48, "folk": 0.52,
                                          "celtic": 0.3, "classical": 0.3, "game": 0.3, "lofi": 0.31, "ambient": 0.3}

# How often a piece's first chord is the tonic: the share in the style's real pieces with annotated chords
# (engine/evaluation/form_reference.json, train split: jazz and lofi tunes often open on ii or IV; 1.0 where
# no source annotates chords).
START_ON_TONIC: dict[str, float] = {"jazz": 0.57, "lofi": 0.57, "blues": 0.73, "latin": 0.61, "pop": 0.70, "rock": 0.78, "folk": 0.80}

# The chord a half cadence stops on, where it is not the dominant seventh: triads in folk, pop and rock and
# classical periods, the modal bVII of a minor session tune.
HALF_CADENCE = {"celtic": {"major": "V", "minor": "bVII"}, "folk": {"major": "V", "minor": "V"}, "classical": {"major": "V", "minor": "V"},
                "pop": {"major": "V", "minor": "V"}, "rock": {"major": "V", "minor": "bVII"}, "ambient": {"major": "IV", "minor": "iv"}}
STYLE_FAMILY = {"pop": "song", "rock": "song", "jazz": "aaba", "latin": "aaba", "folk": "tune", "celtic": "tune",
                "classical": "period", "ambient": "period", "game": "loop", "lofi": "loop"}


FREE = -1  # a beat whose chord the model chooses
# Styles whose tunes are their changes: an A section comes back over A's chords whatever its melody does (the
# A sections of an AABA standard or a bossa, the lines of a blues), so a varied return's beats take the chords
# the model wrote under its source (Form.chord_ties). Measured on the train split's figures, 16 pieces a style:
# jazz 32 bars, section 1's chords found again 0.52 -> 0.91 (real 0.62-1.00); latin 0.44 -> 0.94 (0.19-1.00).
# Elsewhere the tie made the music too alike: an 8-bar classical period's consequent echoed its antecedent's
# melody (phrase similarity 0.08 -> 0.20, real 0.03-0.12), pop and folk 32-bar pieces brought section 1's
# chords back more than their real songs and tunes do (0.89 and 0.94, real 0.28-0.88 and 0.44-0.97).
TIED_CHANGES = frozenset({"jazz", "latin", "blues"})
# Styles whose harmony is the form itself, planned beat by beat: lofi's two- to four-chord loops and
# ambient's slow washes (and every 12-bar blues chorus: its changes). Elsewhere the plan fixes the opening
# and the cadences and leaves the chords between to the model: with every chord forced, the first style
# judge read celtic as celtic in 21% of 24 pieces (92% before) and classical in 0% (100%); an 8-bar blues
# fully forced, 71% (83% with its cadences only).
PLANNED_THROUGHOUT = frozenset({"lofi", "ambient"})


@dataclass(frozen=True)
class Form:
    name: str
    sections: tuple[Section, ...]
    harmony: tuple[int, ...]  # one chord token per beat, C-relative
    # Per beat the model chooses (FREE in `harmony`), the earlier beat whose chord, as sampled or planned, it
    # repeats (-1: none); empty for no ties.
    chord_ties: tuple[int, ...] = ()


def choose_form(style: str, mode: str, bars: int, rng: random.Random, beats_per_bar: int = 4) -> Form:
    """The form, phrases and harmony of a piece of `bars` bars in `style`, drawn with `rng`. The harmony
    is the plan's constraint on the model's chords: a token where the plan decides, FREE where the model
    chooses (see PLANNED_THROUGHOUT)."""
    if style == "blues" or (style == "jazz" and bars in (12, 24)):
        form = _blues(style, mode, bars, rng, beats_per_bar)
    else:
        layout, name = _layout(style, bars // UNIT, rng)
        form = _build(style, mode, bars, layout, name, rng, beats_per_bar)
    if style in PLANNED_THROUGHOUT or form.name == "12-bar blues":
        return replace(form, chord_ties=())
    harmony = _cadences_only(form, beats_per_bar)
    # A tie is for a beat the model chooses; where the plan fixes the chord, the plan's chord is what sounds.
    ties = tuple(t if t >= 0 and harmony[i] == FREE else -1 for i, t in enumerate(form.chord_ties))
    return replace(form, harmony=harmony, chord_ties=ties if any(t >= 0 for t in ties) else ())


def tie_root(ties: tuple[int, ...] | list[int], beat: int) -> int:
    """The first beat of a chain of ties (a return of a return ties to the original)."""
    while 0 <= beat < len(ties) and ties[beat] >= 0:
        beat = ties[beat]
    return beat


def _cadences_only(form: Form, bpb: int) -> tuple[int, ...]:
    """The form's chords where they make the form, FREE between: the opening chord, and the cadence that
    closes each section (its last bar, and for an authentic cadence the dominant in the second half of
    the bar before). Between them the model's own chord stream, learned from the style's music, stays
    the style's. Phrase cadences inside a section are left to the model too: forcing them cost style
    recognition (48 pieces a style, 8 bars: celtic 54% -> 69% under the first judge without them,
    classical 88% -> 98%; see MODEL_CARD.md)."""
    kept = [False] * len(form.harmony)
    kept[0] = True
    for phrase in (s.phrases[-1] for s in form.sections if s.phrases):
        last = (phrase.end_bar - 1) * bpb
        if phrase.cadence in ("half", "authentic"):
            kept[last : last + bpb] = [True] * bpb
        # The dominant before an authentic cadence, unless that bar is copied from the phrase's source.
        own_penultimate = phrase.source is None or phrase.bars - 2 in phrase.varied_bars
        if phrase.cadence == "authentic" and phrase.bars > 1 and own_penultimate:
            kept[last - bpb // 2 : last] = [True] * (bpb // 2)
    return tuple(token if keep else FREE for token, keep in zip(form.harmony, kept))


def _layout(style: str, units: int, rng: random.Random) -> tuple[str, str]:
    if STYLE_FAMILY[style] == "song" and units * UNIT in (16, 32):
        structures = learned_structures().get(units * UNIT)
        if structures:
            names, counts = zip(*structures)
            return _from_structure(rng.choices(names, weights=counts)[0]), "verse-chorus (POP909)"
    table = _LAYOUTS[STYLE_FAMILY[style]]
    options = table[min(max(units, 1), max(table))]
    return rng.choice(options)


def _from_structure(structure: tuple[str, ...]) -> str:
    """("A8", "B4", "B4") -> "verse: a a' | chorus: b b": an 8-bar phrase is a unit and its varied return."""
    sections: list[tuple[str, list[str]]] = []
    for token in structure:
        letter, length = token[0], int(token[1:])
        unit = letter.lower() if letter == "A" else letter
        phrase = [unit, unit + "'"] if length >= 8 else [unit]
        name = SECTION_NAMES.get(letter, "bridge")
        if sections and sections[-1][0] == name and length < 8:
            sections[-1][1].extend(phrase)
        else:
            sections.append((name, phrase))
    return " | ".join(f"{name}: {' '.join(units)}" for name, units in sections)


def _parse(layout: str) -> list[tuple[str, list[str]]]:
    out = []
    for part in layout.split("|"):
        name, units = part.split(":")
        out.append((name.strip(), units.split()))
    return out


class _Builder:
    """Turns a layout into phrases with sources and per-beat chords."""

    def __init__(self, style: str, mode: str, rng: random.Random, beats_per_bar: int):
        self.bank = bank(style, mode)
        self.style, self.mode, self.rng, self.bpb = style, mode, rng, beats_per_bar
        self.phrases: list[Phrase] = []
        self.chords: list[list[int]] = []  # per phrase: its beats' tokens
        self.ties: list[int] = []  # per beat of the piece so far: the source beat it repeats the chord of, or -1
        self.reharmonised: dict[str, bool] = {}
        self.exact_returns: bool | None = None  # drawn at the piece's first plain return
        self.section_start = 0  # the first bar of the section being built
        self.first_of: dict[str, int] = {}
        self.bar = 0
        self.loop = "loop" in self.bank
        quality = STYLE_RULES[style].final_chord[mode == "minor"]
        self.final_tonic = chord_token(Chord(0, quality, 0, 4))

    def progression(self, role: str, bars: int) -> list[int]:
        role = "loop" if self.loop and role == "opening" else role
        options = self.bank.get(role) or self.bank["opening"]
        if not self.phrases:  # does the piece open at home? As often as the style's real pieces do
            home = self.rng.random() < START_ON_TONIC.get(self.style, 1.0)
            options = tuple(o for o in options if (numeral_token(o.split()[0].split(",")[0]) in _tonic_tokens(self.mode)) == home) or options
        beats = progression_beats(self.rng.choice(options), self.bpb)
        while len(beats) < bars * self.bpb:  # longer phrases hold the progression's last chord
            beats.append(beats[-1])
        return beats[: bars * self.bpb]

    def cadence_tail(self, beats: list[int], cadence: str, last_bar_only: bool = False) -> list[int]:
        """The phrase's chords with its last bars made to cadence: authentic (.. V | I, on the style's own
        tonic chord: I7 in a blues, Imaj7 in jazz), half (.. | V). `last_bar_only`: the bar before is a bar
        the phrase keeps from its source, chords and all, so only the tonic bar is this phrase's own."""
        tonic, dominant = self.final_tonic, numeral_token(HALF_CADENCE.get(self.style, {}).get(self.mode, "V7"))
        out = list(beats)
        bar = self.bpb
        if cadence == "authentic" and last_bar_only:
            out[-bar:] = [tonic] * bar
        elif cadence == "authentic" and len(out) >= 2 * bar:
            closing = self.progression("closing", 4)
            out[-2 * bar :] = closing[-2 * bar :]
            out[-bar:] = [tonic] * bar
        elif cadence == "half":
            out[-bar:] = [dominant] * bar
        return out

    def add(self, unit: str, bars: int, last_of_piece: bool, last_of_section: bool) -> Phrase:
        primed = unit.endswith("'")
        letter = unit.rstrip("'")
        cadence = "authentic" if last_of_piece or (last_of_section and primed) else ("open" if self.loop else "half")
        new_harmony: set[int] = set()  # bars a return re-harmonises: their chords are their own, tied to nothing
        if letter not in self.first_of:
            role = "contrast" if letter.isupper() and letter not in ("P",) else "opening"
            role = "pre" if letter == "P" else role
            beats = self.cadence_tail(self.progression(role, bars), cadence if cadence != "open" else "none")
            phrase = Phrase(letter, self.bar, bars, None, (), cadence)
            self.first_of[letter] = len(self.phrases)
        else:
            source = self.first_of[letter]
            src_beats = self.chords[source]
            beats = (src_beats + [src_beats[-1]] * bars * self.bpb)[: bars * self.bpb]
            varied: tuple[int, ...] = ()
            rhythm: tuple[int, ...] = ()
            exact = not primed and self._returns_exactly()
            if not exact or (cadence == "authentic" and self.phrases[source].cadence != "authentic"):
                answers = self.phrases[source].start_bar >= self.section_start  # its antecedent is in this section
                varied, rhythm = varied_return(self.style, bars, self.rng, cadence, answers)
                if not primed and self._reharmonises(letter):
                    # A return that re-harmonises its varied bars, as later verses and choruses of real songs do.
                    fresh = self.progression("opening" if letter.islower() else "contrast", bars)
                    beats = [fresh[i] if i // self.bpb in varied else b for i, b in enumerate(beats)]
                    new_harmony = set(varied)
                beats = self.cadence_tail(beats, cadence if cadence != "open" else "none", last_bar_only=bars - 2 not in varied and bars >= 2)
            if bars != self.phrases[source].bars:  # a phrase cut or stretched to fit: write the difference afresh
                varied = tuple(sorted(set(varied) | set(range(min(bars, self.phrases[source].bars), bars))))
            phrase = Phrase(letter, self.bar, bars, source, varied, cadence, rhythm)
        self.phrases.append(phrase)
        self.chords.append(beats)
        self.ties += self._ties(phrase, beats, new_harmony)
        self.bar += bars
        return phrase

    def _returns_exactly(self) -> bool:
        """Whether this piece's plain returns come back note for note: decided once per piece, at its first plain
        return (EXACT_RETURN is a per-piece rate: a later phrase repeats an earlier one, or none does)."""
        if self.exact_returns is None:
            self.exact_returns = self.rng.random() < EXACT_RETURN[self.style]
        return self.exact_returns

    def _reharmonises(self, letter: str) -> bool:
        """Whether this piece's plain returns of `letter` take new chords in their varied bars: decided once per
        piece and letter, as NEW_CHORDS_ON_RETURN is measured (per piece: its first section's chords do not come
        back), so a piece with three returns of A is not three times as likely to lose A's harmony."""
        if letter not in self.reharmonised:
            self.reharmonised[letter] = self.rng.random() < NEW_CHORDS_ON_RETURN[self.style]
        return self.reharmonised[letter]

    def _ties(self, phrase: Phrase, beats: list[int], new_harmony: set[int]) -> list[int]:
        """A returning phrase's beats whose planned chord is its source's (outside the bars it re-harmonises,
        and not its own cadence) take the chord that sounds under the source (choose_form keeps a tie only on a
        beat the plan leaves to the model): a varied return keeps A's harmony while its melody is new, as A'
        does in the music these forms come from. Other beats, and every beat outside TIED_CHANGES: -1."""
        if phrase.source is None or self.style not in TIED_CHANGES:
            return [-1] * len(beats)
        source = self.phrases[phrase.source]
        src_beats, first = self.chords[phrase.source], source.start_bar * self.bpb
        shared = min(phrase.bars, source.bars) * self.bpb
        return [first + i if i < shared and i // self.bpb not in new_harmony and beats[i] == src_beats[i] else -1 for i in range(len(beats))]


def varied_return(style: str, bars: int, rng: random.Random, cadence: str = "half", answers: bool = False) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(varied bars, rhythm-echo bars) of a primed return of `bars` bars in `style`: it keeps its first
    bars note for note (how many: the style's RETURN_KEEP, scaled to the phrase's length), writes the rest
    afresh, and those before the cadence bar keep the source's rhythm with the style's RHYTHM_RETURN odds.
    `answers`: the return follows its source in the same section (a consequent), so it may keep all but its
    last bar even before an authentic cadence."""
    keep = rng.choices((0, 1, 2, 3), weights=RETURN_KEEP[style])[0] * max(1, bars // UNIT)
    # The last bar is always the phrase's own (its cadence), and so is the bar before an authentic cadence (V | I),
    # except in a phrase that `answers` its source in the same section: a consequent may repeat its antecedent
    # but for the last bar, its cadence then that bar's chord to the tonic, as tunes' consequents do. (RETURN_KEEP
    # is measured on 8-bar windows, one such answer each; later sections bring A back through exact returns.)
    keep = max(0, min(keep, bars - (2 if cadence == "authentic" and not answers else 1)))
    varied = tuple(range(keep, bars))
    rhythm = tuple(b for b in varied[:-1] if rng.random() < RHYTHM_RETURN[style])
    return varied, rhythm


def _tonic_tokens(mode: str) -> set[int]:
    names = ("I", "Imaj7", "I6", "I7") if mode == "major" else ("i", "i7", "i6", "im7")
    return {numeral_token(n) for n in names}


def _build(style: str, mode: str, bars: int, layout: str, name: str, rng: random.Random, bpb: int) -> Form:
    parsed = _parse(layout)
    units = [(i, u) for i, (_, us) in enumerate(parsed) for u in us]
    # Bars beyond the layout's units (a 10-bar request) lengthen the last phrase.
    lengths = [UNIT] * len(units)
    lengths[-1] += bars - UNIT * len(units)
    builder = _Builder(style, mode, rng, bpb)
    sections, k = [], 0
    for s, (section_name, section_units) in enumerate(parsed):
        start = builder.section_start = builder.bar
        phrases = []
        for j, unit in enumerate(section_units):
            phrases.append(builder.add(unit, lengths[k], k == len(units) - 1, j == len(section_units) - 1))
            k += 1
        sections.append(Section(section_name, start, builder.bar - start, tuple(phrases), SECTION_ENERGY.get(section_name, 0.6)))
    return Form(name, tuple(sections), tuple(b for beats in builder.chords for b in beats), tuple(builder.ties))


def _blues(style: str, mode: str, bars: int, rng: random.Random, bpb: int) -> Form:
    """12-bar choruses in the blues' a a b shape (the second line sings the first again over IV), as many
    as the bars hold; bars past the last whole chorus play the start of one more (its first 4 or 8 bars end
    on I7, so the piece still ends home). Under 12 bars, an 8- or 4-bar blues."""
    if bars < 12:
        return _build("blues", mode, bars, "chorus: a a'" if bars >= 8 else "chorus: a", "blues", rng, bpb)
    changes = progression_beats(rng.choice(bank("blues", mode)["blues12"]), bpb)
    sections: list[Section] = []
    phrases_all: list[Phrase] = []
    beats: list[int] = []
    bar = 0
    for c in range(-(-bars // 12)):
        chorus_bars = min(12, bars - bar)
        lines = [4] * (chorus_bars // 4)
        lines[-1] += chorus_bars % 4  # a 13-bar request: the last line holds one more bar
        phrases = []
        for line, line_bars in enumerate(lines):
            start, last = bar + 4 * line, bar + 4 * line + line_bars == bars
            cadence = "authentic" if last else "half"
            if c == 0 and line == 0:
                phrase = Phrase("a", start, line_bars, None, (), cadence)
            elif line < 2:
                # The second line answers the first over IV (AAB, as the blues sings); a later chorus's first line
                # returns to it. How closely: the style's profile.
                varied, rhythm = varied_return(style, line_bars, rng, cadence)
                phrase = Phrase("a", start, line_bars, 0, varied, cadence, rhythm)
            else:
                varied, rhythm = varied_return(style, line_bars, rng, cadence) if c else ((), ())
                phrase = Phrase("b", start, line_bars, None if c == 0 else 2, varied, cadence, rhythm)
            phrases.append(phrase)
            phrases_all.append(phrase)
        name = "chorus 1" if c == 0 else "chorus 2"
        sections.append(Section(name, bar, chorus_bars, tuple(phrases), SECTION_ENERGY[name]))
        chorus = changes[: chorus_bars * bpb]
        beats.extend(chorus + [chorus[-1]] * (chorus_bars * bpb - len(chorus)))
        bar += chorus_bars
    quality = STYLE_RULES["blues"].final_chord[mode == "minor"]
    beats[-bpb:] = [chord_token(Chord(0, quality, 0, 4))] * bpb  # the last chorus ends home, not on the turnaround's V
    return Form("12-bar blues", tuple(sections), tuple(beats))


__all__ = ["Form", "choose_form", "STYLE_FAMILY", "tie_root"]
