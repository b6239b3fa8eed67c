"""The training corpus: readers for each data set (readers/), MIDI and music21 conversion, chord-symbol
parsing, key estimation and mood estimates, cutting pieces into 8-bar segments, and the compact corpus cache
(`tunesmith data build`) with its manifest. Nothing here is needed at run time on a user's machine.
"""
