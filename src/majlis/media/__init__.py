"""The media plane: speakers in over WebRTC (WHIP), one mix, encoded once, out as LL-HLS.

Per live Space a ``Room`` (room.py) holds the speakers' peer connections (whip.py), the mixer
on a steady 20 ms clock (mixer.py), and the program's packager and LL-HLS stream (hls/).
Codec work runs on one encoder thread per Space; its parts reach the event loop in exactly one
place (``hls.packager.Packager`` → ``loop.call_soon_threadsafe``).
"""
