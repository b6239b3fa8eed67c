"""The band's dynamics follow the form: each section as loud as its energy, the bar before a stronger
section crescendoing into it, and each role silent in the sections whose `roles` leave it out.

Velocities are MIDI units (1..127); steps are arrangement grid steps.
"""

from __future__ import annotations

from dataclasses import replace

from engine.arrange.parts import Context, Hit

BUILD_LIFT = 0.2  # how much louder the end of a building bar is than its start


def energy_gain(energy: float, role: str) -> float:
    """Velocity factor for a section's energy (0..1); the lead moves less, so it stays on top of the band."""
    return 0.9 + 0.2 * energy if role == "Melody" else 0.75 + 0.4 * energy


def follow_form(role: str, hits: list[Hit], ctx: Context) -> list[Hit]:
    """The part's hits kept where the role plays, each at its section's level, building bars rising."""
    bar = ctx.timeline.steps_per_bar
    out = []
    for h in hits:
        if h.start >= ctx.timeline.play_steps:
            out.append(h)  # the ending: everyone lands together
            continue
        form = ctx.bar_form(h.start)
        if role not in form.roles:
            continue
        gain = energy_gain(form.energy, role)
        if form.builds and role != "Melody":
            gain *= 1 + BUILD_LIFT * ((h.start % bar) / bar - 0.5)
        out.append(replace(h, velocity=max(1, min(127, round(h.velocity * gain)))))
    return out


__all__ = ["energy_gain", "follow_form"]
