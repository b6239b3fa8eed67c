"""Audio from an arrangement with FluidSynth: the SoundFont loaded once per process, a fresh synthesiser for every render.

FluidSynth keeps state that system_reset does not clear (its voices' filters and ramps, the reverb's and chorus's
modulation phase), so a synthesiser that has played before renders the same MIDI a little differently. Every
render therefore gets a synthesiser that has never played; the next one is built on a thread while the caller
encodes and draws, and FluidSynth's sample cache shares the SoundFont's samples, so it costs little.
"""

from __future__ import annotations

import ctypes
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi

from engine.arrange import Arrangement
from engine.render import loudness
from engine.render.dependencies import RenderDependencyError, default_soundfont, fluidsynth_problem, soundfont_problem

DRUM_CHANNEL = 9
DRUM_BANK = 128
SYNTH_GAIN = 0.3  # FluidSynth's usual level for a full band; loudness is set afterwards anyway
POLYPHONY = 64
TAIL_SECONDS = 0.6  # reverb tail kept after the last note ends (never more than 4 % of the piece)
# FluidSynth renders in blocks of 64 samples and applies events at block boundaries. Events are placed on
# those boundaries (1.5 ms, inaudible) and every render consumes whole blocks.
BLOCK = 64

# Event kinds, in the order they apply at the same sample: a repeated note is released before it is struck again.
_PROGRAM, _CONTROL, _NOTE_OFF, _NOTE_ON = range(4)


def _write_float(synth, audio: np.ndarray, start: int, stop: int) -> None:
    """Synthesise samples [start, stop) straight into the float32 [samples, 2] array (no copies, no clipping)."""
    address = audio.ctypes.data + start * audio.strides[0]
    _float_writer()(synth.synth, stop - start, address, 0, 2, address, 1, 2)


@lru_cache(maxsize=1)
def _float_writer():
    """fluid_synth_write_float: pyfluidsynth wraps only the 16-bit writer; floats save a conversion and never clip.
    Bound on first use, so importing this module works on a machine without the library (the check reports it)."""
    import fluidsynth

    return fluidsynth.cfunc(
        "fluid_synth_write_float", ctypes.c_int, ("synth", ctypes.c_void_p, 1), ("len", ctypes.c_int, 1),
        ("lout", ctypes.c_void_p, 1), ("loff", ctypes.c_int, 1), ("lincr", ctypes.c_int, 1),
        ("rout", ctypes.c_void_p, 1), ("roff", ctypes.c_int, 1), ("rincr", ctypes.c_int, 1))


def _block(seconds: float, sample_rate: int) -> int:
    return round(seconds * sample_rate / BLOCK) * BLOCK


def _events(midi: pretty_midi.PrettyMIDI, sample_rate: int) -> tuple[list[tuple[int, int, int, int, int]], dict[int, tuple[int, int]]]:
    """Sorted (sample, kind, channel, a, b) events and each channel's (bank, program)."""
    events = []
    programs: dict[int, tuple[int, int]] = {}
    free = iter(c for c in range(16) if c != DRUM_CHANNEL)
    for inst in midi.instruments:
        channel = DRUM_CHANNEL if inst.is_drum else next(free, None)
        if channel is None:
            raise ValueError("An arrangement can have at most 15 pitched instruments.")
        programs[channel] = (DRUM_BANK if inst.is_drum else 0, inst.program)
        for cc in inst.control_changes:
            events.append((_block(cc.time, sample_rate), _CONTROL, channel, cc.number, cc.value))
        for note in inst.notes:
            events.append((_block(note.start, sample_rate), _NOTE_ON, channel, note.pitch, note.velocity))
            events.append((_block(note.end, sample_rate), _NOTE_OFF, channel, note.pitch, 0))
    events.sort()
    return events, programs


class AudioRenderer:
    """Renders arrangements to normalised stereo audio. Loads the SoundFont once; cheap to call repeatedly.

    Every render starts from a clean synthesiser, so the same arrangement gives the same samples whatever was
    rendered before it. Safe to hand to a worker process: synthesisers are not pickled but built in the process
    that uses them. Not for concurrent use from several threads: give each worker its own renderer.
    Raises RenderDependencyError, naming the fix, when the SoundFont or the FluidSynth library is missing.
    """

    def __init__(self, soundfont: Path | None = None, sample_rate: int = 44100) -> None:
        self.soundfont = Path(soundfont) if soundfont else default_soundfont()
        self.sample_rate = sample_rate
        problems = [p for p in (soundfont_problem(self.soundfont), fluidsynth_problem()) if p]
        if problems:
            raise RenderDependencyError("\n".join(problems))
        self._forget_synths()
        self._next = self._build()  # loads the SoundFont now, so a bad file is reported at start-up

    def _forget_synths(self) -> None:
        self._next: _Synth | None = None  # never played; the next render uses it
        self._preparing: threading.Thread | None = None  # builds _next and retires the last synthesiser used
        self._owner_pid = os.getpid()

    def _build(self) -> _Synth:
        import fluidsynth

        synth = fluidsynth.Synth(gain=SYNTH_GAIN, samplerate=float(self.sample_rate))
        # 64 voices play every part here unchanged and keep long release tails from piling up (render time).
        synth.setting("synth.polyphony", POLYPHONY)
        synth.setting("synth.reverb.active", 1)
        synth.setting("synth.chorus.active", 1)
        sfid = synth.sfload(str(self.soundfont))
        if sfid < 0:
            synth.delete()
            raise RenderDependencyError(f"FluidSynth could not load the SoundFont {self.soundfont}: is it a valid .sf2 file?")
        return _Synth(synth, sfid)

    def __getstate__(self) -> dict:
        return {"soundfont": self.soundfont, "sample_rate": self.sample_rate}

    def __setstate__(self, state: dict) -> None:
        self.soundfont, self.sample_rate = state["soundfont"], state["sample_rate"]
        self._forget_synths()

    def _take_synth(self) -> _Synth:
        """A synthesiser that has never played (building one now if none is ready)."""
        if self._owner_pid != os.getpid():  # a forked copy: the parent's synthesiser and thread are not ours
            self._forget_synths()
        if self._preparing is not None:
            self._preparing.join()
            self._preparing = None
        synth, self._next = self._next, None
        return synth or self._build()

    def _retire(self, used: _Synth) -> None:
        """Build the next synthesiser, then delete the used one, on a thread: the caller goes on encoding.
        The new one loads the SoundFont before the old one lets go of it, so the sample cache stays warm."""

        def prepare() -> None:
            try:
                self._next = self._build()
            except RenderDependencyError:
                pass  # the next render builds its own and reports the problem to its caller
            finally:
                used.synth.delete()

        # A thread per render, not a pool: a pool's thread would not survive a fork into a worker process.
        self._preparing = threading.Thread(target=prepare, name="synth-prepare", daemon=True)
        self._preparing.start()

    def render_raw(self, arrangement: Arrangement) -> np.ndarray:
        """The synthesiser's output as float32 [samples, 2], before loudness normalisation."""
        used = self._take_synth()
        try:
            return self._play(used, arrangement)
        finally:
            self._retire(used)

    def _play(self, used: _Synth, arrangement: Arrangement) -> np.ndarray:
        synth = used.synth
        send = np.mean([cc.value for inst in arrangement.midi.instruments for cc in inst.control_changes if cc.number == 91] or [64])
        synth.set_reverb(roomsize=0.35 + 0.5 * send / 127, damping=0.4, width=0.9, level=0.9)
        sr = self.sample_rate
        events, programs = _events(arrangement.midi, sr)
        for channel, (bank, program) in programs.items():
            used.select(channel, bank, program)
        end = _block(arrangement.duration_seconds + min(TAIL_SECONDS, 0.04 * arrangement.duration_seconds), sr)
        audio = np.zeros((end, 2), dtype=np.float32)
        position = 0
        for sample, kind, channel, a, b in events:
            sample = min(sample, end)
            if sample > position:
                _write_float(synth, audio, position, sample)
                position = sample
            if kind == _NOTE_ON:
                synth.noteon(channel, a, b)
            elif kind == _NOTE_OFF:
                synth.noteoff(channel, a)
            elif kind == _CONTROL:
                synth.cc(channel, a, b)
        if end > position:
            _write_float(synth, audio, position, end)
        return _fade_out(audio, sr, min(TAIL_SECONDS, 0.04 * arrangement.duration_seconds) + 0.2)

    def render(self, arrangement: Arrangement) -> np.ndarray:
        """Stereo float32 [samples, 2] at `sample_rate`: reverb and chorus on, at the mood's loudness
        (loudness.target_lufs: calm sits quieter than energetic), peaks at or below -1 dBFS."""
        return loudness.normalise(self.render_raw(arrangement), self.sample_rate, loudness.target_lufs(arrangement.mood))


class _Synth:
    """One FluidSynth synthesiser with the SoundFont loaded."""

    def __init__(self, synth, sfid: int) -> None:
        self.synth, self.sfid = synth, sfid

    def select(self, channel: int, bank: int, program: int) -> None:
        if self.synth.sfpreset_name(self.sfid, bank, program) is None:  # a kit the SoundFont lacks: its standard kit
            program = 0
        self.synth.program_select(channel, self.sfid, bank, program)


def _fade_out(audio: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    n = min(len(audio), int(seconds * sample_rate))
    if n > 0:
        audio[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
    return audio
