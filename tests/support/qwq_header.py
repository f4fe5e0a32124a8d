"""Write a GGUF header with QwQ-32B's exact hyperparameters and tensor list, but no weights.

Shapes are Qwen2-32B's (64 layers, 5120 wide, 40 query / 8 KV heads of 128, FFN 27648,
vocab 152064); quant types follow llama.cpp's Q4_K_M recipe (Q6_K for the output head and
for attn_v / ffn_down in the layers its ``use_more_bits`` rule picks, Q4_K elsewhere).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LAYERS, EMB, FFN, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 64, 5120, 27648, 40, 8, 128, 152064


def _more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def write_qwq32b_header(path: Path) -> Path:
    import gguf

    Q = gguf.GGMLQuantizationType
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_name("QwQ 32B")
    w.add_file_type(15)  # Q4_K_M
    w.add_block_count(LAYERS)
    w.add_context_length(131072)
    w.add_embedding_length(EMB)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)

    def tensor(name: str, shape: tuple[int, ...], qtype: int) -> None:
        block, size = gguf.GGML_QUANT_SIZES[Q(qtype)]
        n = int(np.prod(shape))
        w.add_tensor_info(name, shape, np.dtype(np.float32), n // block * size, raw_dtype=Q(qtype))

    tensor("token_embd.weight", (VOCAB, EMB), Q.Q4_K)
    kv = KV_HEADS * HEAD_DIM
    for i in range(LAYERS):
        big = Q.Q6_K if _more_bits(i, LAYERS) else Q.Q4_K
        p = f"blk.{i}."
        tensor(p + "attn_norm.weight", (EMB,), Q.F32)
        tensor(p + "attn_q.weight", (EMB, EMB), Q.Q4_K)
        tensor(p + "attn_q.bias", (EMB,), Q.F32)
        tensor(p + "attn_k.weight", (kv, EMB), Q.Q4_K)
        tensor(p + "attn_k.bias", (kv,), Q.F32)
        tensor(p + "attn_v.weight", (kv, EMB), big)
        tensor(p + "attn_v.bias", (kv,), Q.F32)
        tensor(p + "attn_output.weight", (EMB, EMB), Q.Q4_K)
        tensor(p + "ffn_norm.weight", (EMB,), Q.F32)
        tensor(p + "ffn_gate.weight", (FFN, EMB), Q.Q4_K)
        tensor(p + "ffn_up.weight", (FFN, EMB), Q.Q4_K)
        tensor(p + "ffn_down.weight", (EMB, FFN), big)
    tensor("output_norm.weight", (EMB,), Q.F32)
    tensor("output.weight", (VOCAB, EMB), Q.Q6_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return path
