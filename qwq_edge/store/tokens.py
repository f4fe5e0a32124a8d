"""Token ids on disk: packed little-endian int32, 4 bytes a token (never a JSON list)."""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence


def pack_tokens(tokens: Sequence[int]) -> bytes:
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
