"""Build real Kiwix ZIM archives for tests and benchmarks (no PyPI package ships a ``.zim``).

libzim's ``Creator`` prints progress from C++ straight to file descriptor 1, even with
``config_verbose(False)``, so the build runs with fd 1 pointed at /dev/null; Python's
``sys.stdout`` redirection would not catch it (docs/architecture.md, "The library").

The builder lives in ``qwq_edge.bench.corpus`` (the bench builds archives too, and the
package never imports from ``tests/``); this module keeps the tests' import path.
"""

from __future__ import annotations

from qwq_edge.bench.corpus import build_zim, page

__all__ = ["build_zim", "page"]
