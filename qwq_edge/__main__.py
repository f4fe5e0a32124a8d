"""``python -m qwq_edge``: the same command line as ``qwq-edge``."""

from qwq_edge.cli import main

raise SystemExit(main())
