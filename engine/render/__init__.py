"""Rendering: MIDI file bytes, audio through FluidSynth, loudness-normalised MP3, and a piano-roll PNG.

    renderer = AudioRenderer()                     # once per process: loads the SoundFont
    track = render_track(piece, plan, renderer)            # plan: engine.plan.MusicalPlan
"""

from engine.render.audio import AudioRenderer
from engine.render.dependencies import RenderDependencyError, check_render_dependencies, default_soundfont
from engine.render.midi_file import render_midi_bytes
from engine.render.mp3 import UploadTooLargeError, encode_mp3
from engine.render.pianoroll import piano_roll_png
from engine.render.track import RenderedTrack, render_track

__all__ = [
    "AudioRenderer", "RenderDependencyError", "RenderedTrack", "UploadTooLargeError", "check_render_dependencies",
    "default_soundfont", "encode_mp3", "piano_roll_png", "render_midi_bytes", "render_track",
]
