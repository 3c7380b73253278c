"""Captions: offline speech recognition of each speaker's audio, before the mix.

``engine`` is the seam (a ``Recognizer`` turns 16 kHz PCM into timed text) and its Whisper
implementation; ``models`` finds the model ``MAJLIS_CAPTIONS_MODEL`` names in a directory or an
installed package, never online; ``utterances``, ``pool`` and ``captioner`` cut each speaker's
audio, recognize it off the loop and time the cues. ``majlis.text_folding`` folds text (Arabic
included) for scoring and search; the store folds each cue with it too. Importing this package
needs nothing beyond majlis' own dependencies: faster-whisper (the ``captions`` extra) is
imported only when a recognizer is opened.
"""
