from majlis.cli import main

# Guarded: the captions' recognizer process (multiprocessing, spawn) imports this module again
# as ``__mp_main__``, and must not start a second node.
if __name__ == "__main__":
    raise SystemExit(main())
