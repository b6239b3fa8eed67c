"""The seconds each stage of one render took, as the render worker reports them (no heavy imports: the
service, the Ray replicas and the test fakes all build or read one)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RenderTimings:
    """Wall seconds per stage of render_track: arrange (and write the MIDI), render the audio, encode the MP3,
    draw the picture. Encoding overlaps the picture, so the render took arrange + render + max(encode, picture).
    `picture` is None for the audio half of a split render (the picture is drawn on another worker)."""

    arrange: float
    render: float
    encode: float
    picture: float | None = None

    def with_picture(self, seconds: float) -> "RenderTimings":
        return replace(self, picture=seconds)

    def as_dict(self) -> dict[str, float]:
        """The measured stages by name (for logs, tables and JobTimings)."""
        return {name: value for name, value in vars(self).items() if value is not None}

    def total(self) -> float:
        """The seconds of all measured stages added up (a worker's busy time, counting the overlap twice)."""
        return sum(self.as_dict().values())
