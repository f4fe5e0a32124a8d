"""``python -m qwq_edge``: the same command line as ``qwq-edge``."""

from qwq_edge.cli import main

# Guarded: the app's worker process is spawned, and spawn imports the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
