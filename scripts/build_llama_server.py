"""Build llama-server once from the llama.cpp sources in the installed llama-cpp-python sdist
(the package registry, never a model hub), cached outside the checkout; print its path.

`make test` runs it before the tests: the remote-engine tests start this server on
127.0.0.1 with the test model. Minutes the first time, instant afterwards.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qwq_edge.bench import llama_bench


def main() -> int:
    log = Path(tempfile.gettempdir()) / "qwq-edge-llama-server-build.log"
    try:
        exe = llama_bench.build(log, target="llama-server")
    except Exception as exc:  # one sentence; the log has the rest
        print(f"llama-server did not build ({exc}); see {log}", file=sys.stderr)
        return 1
    print(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
