"""Token ids on disk: packed little-endian int32, 4 bytes a token (never a JSON list).

An id that int32 cannot hold (negative, or 2**31 and past: no vocabulary has one) is refused
in one sentence; engines check ids against their vocabulary before they get here.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence

from qwq_edge.errors import QwqEdgeError

MAX_ID = 2**31 - 1


class TokenIdError(QwqEdgeError, ValueError):
    """A token id that cannot be stored."""


def pack_tokens(tokens: Sequence[int]) -> bytes:
    if tokens and not (min(tokens) >= 0 and max(tokens) <= MAX_ID):
        bad = next(t for t in tokens if not 0 <= t <= MAX_ID)
        raise TokenIdError(
            f"token id {bad} cannot be kept: ids are 0 to {MAX_ID:,} (the engine gave an id "
            "no vocabulary has)"
        )
    arr = array.array("i", tokens)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def unpack_tokens(blob: bytes) -> list[int]:
    arr = array.array("i")
    arr.frombytes(blob)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tolist()
