"""The plan's form, bar by bar of the arrangement (engine.arrange.sections)."""

from __future__ import annotations

from engine.arrange.examples import ii_v_i
from engine.arrange.sections import FormMap
from tests.helpers.plans import plan_for, with_sections

BAND = {"Melody", "Piano", "Bass", "Drums", "Pad"}


def test_intro_body_and_ending_bars_follow_the_sections():
    piece = ii_v_i(bars=12)
    plan = with_sections(plan_for(piece, "pop", "happy"), ("verse", 4, 0.4, ("Melody", "Bass")), ("chorus", 4, 0.9, ()))
    form = FormMap(plan, BAND, intro_bars=2, piece_bars=12)
    intro, body, ending = form.bars[:2], form.bars[2:14], form.bars[14]
    assert all(b.section_name == "intro" and "Melody" not in b.roles for b in intro)
    assert intro[-1].section_end, "the intro ends with a full fill into the melody"
    assert [b.section_name for b in body[:8]] == ["verse"] * 4 + ["chorus"] * 4
    assert body[0].roles == {"Melody", "Bass"} and body[4].roles == BAND, "an empty roles tuple is the whole band"
    assert body[3].builds and body[3].section_end and not body[2].builds
    assert body[4].section_start and not body[1].section_start
    # Bars past the plan play as its last section, a phrase every four bars; the piece's last bar ends one.
    assert all(b.section_name == "chorus" and b.energy == 0.9 for b in body[8:])
    assert body[8].phrase_start and body[11].phrase_end and body[11].section_end
    assert ending.section_name == "ending" and ending.roles == BAND
