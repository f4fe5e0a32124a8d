"""Token ids packed for the journal and snapshots: an id int32 cannot hold is one sentence."""

from __future__ import annotations

import pytest

from qwq_edge.errors import QwqEdgeError
from qwq_edge.store.tokens import pack_tokens, unpack_tokens


def test_ids_round_trip() -> None:
    ids = [0, 1, 151645, 2**31 - 1]
    assert unpack_tokens(pack_tokens(ids)) == ids and pack_tokens([]) == b""


@pytest.mark.parametrize("bad", [2**31, 2**40, -1])
def test_an_id_int32_cannot_hold_is_one_sentence(bad: int) -> None:
    with pytest.raises(QwqEdgeError) as info:
        pack_tokens([5, bad, 7])
    message = str(info.value)
    assert str(bad) in message and "\n" not in message
