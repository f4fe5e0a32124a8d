"""Convert a Hugging Face BERT sentence-embedding model (all-MiniLM-L6-v2) to a GGUF that
llama.cpp embeds with, without torch or transformers.

It does what llama.cpp's ``convert_hf_to_gguf.py`` (class ``BertModel``) does for a plain
BERT encoder, on ``safetensors`` (numpy API), numpy and the ``gguf`` package's
``GGUFWriter``:

- architecture ``bert``; the hparams from ``config.json``; ``attention.causal = false``;
  the pooling type from the sentence-transformers ``Pooling`` module (``modules.json``);
- the WordPiece vocabulary rewritten to llama.cpp's "phantom space" form (``##x`` -> ``x``,
  every other non-control token gets a ``▁`` prefix), its token types and special tokens;
- the tensors renamed to llama.cpp's names (the pooler and MLM heads dropped), norms,
  biases and the position/token-type tables in f32, 2-D weights in f16 (or q8_0).

These are setup-time tools (``scripts/fetch_test_models.py embedding``): numpy, gguf and
safetensors are imported inside ``convert`` so nothing at run time needs them.

    convert(model_dir, Path("all-MiniLM-L6-v2.f16.gguf"), dtype="f16")
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from qwq_edge.errors import ConfigError, ModelLoadError

Dtype = Literal["f16", "q8_0"]

# Hugging Face BertModel names -> llama.cpp names (gguf-py tensor_mapping.py, MODEL_ARCH.BERT).
GLOBAL_TENSORS = {
    "embeddings.word_embeddings": "token_embd",
    "embeddings.position_embeddings": "position_embd",
    "embeddings.token_type_embeddings": "token_types",
    "embeddings.LayerNorm": "token_embd_norm",
}
BLOCK_TENSORS = {
    "attention.self.query": "attn_q",
    "attention.self.key": "attn_k",
    "attention.self.value": "attn_v",
    "attention.output.dense": "attn_output",
    "attention.output.LayerNorm": "attn_output_norm",
    "intermediate.dense": "ffn_up",
    "output.dense": "ffn_down",
    "output.LayerNorm": "layer_output_norm",
}
# BertModel.filter_tensors: only the encoder is used for embeddings.
SKIPPED = ("embeddings.position_ids", "pooler.", "cls.predictions", "cls.seq_relationship")
# convert_hf_to_gguf keeps these 2-D tables in f32 (they are added, never multiplied).
KEEP_F32 = ("position_embd.weight", "token_types.weight")

# gguf.TokenType values (llama.h's llama_token_type).
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5
# The BertModel's pre-tokenizer name. all-MiniLM-L6-v2 has bert-base-uncased's vocabulary
# and BertNormalizer (lowercase, no accent stripping), like bge-small-en-v1.5, so
# convert_hf_to_gguf's tokenizer checksum names it "bert-bge". llama.cpp's WordPiece
# tokenizer does its own BERT pre-tokenization and does not branch on this value.
TOKENIZER_PRE = "bert-bge"


def convert(model_dir: Path, out: Path, *, dtype: Dtype = "f16") -> Path:
    """Write ``model_dir`` (config.json, model.safetensors, tokenizer.json or vocab.txt) as
    a GGUF at ``out`` (``out.part`` first, renamed when complete) and return ``out``.

    Raises ModelLoadError when the model files are missing, unreadable or not a BERT
    encoder, ConfigError for an unsupported ``dtype``."""
    if dtype not in ("f16", "q8_0"):
        raise ConfigError(f"cannot convert to {dtype!r}; choose f16 or q8_0")
    import gguf  # setup-time dependencies: see the module docstring
    import numpy as np

    model_dir = Path(model_dir)
    config = _json(model_dir / "config.json")
    if config.get("model_type", "bert") != "bert":
        raise ModelLoadError(
            f"{model_dir} holds a {config.get('model_type')!r} model; only BERT converts"
        )
    try:
        n_layers = int(config["num_hidden_layers"])
        hparams = (
            int(config["max_position_embeddings"]),
            int(config["hidden_size"]),
            int(config["intermediate_size"]),
            int(config["num_attention_heads"]),
        )
        eps = float(config.get("layer_norm_eps", 1e-12))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{model_dir}/config.json lacks a BERT setting ({exc})") from None
    tokens, toktypes = _vocab(model_dir, int(config.get("vocab_size", 0)))
    special = _special_ids(model_dir, tokens)
    weights = _read_weights(model_dir / "model.safetensors", n_layers)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    writer: Any = gguf.GGUFWriter(str(part), "bert")
    try:
        ftype = gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
        # TextModel.set_gguf_parameters + BertModel.set_gguf_parameters
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(out.name.split(".")[0])
        writer.add_context_length(hparams[0])
        writer.add_embedding_length(hparams[1])
        writer.add_feed_forward_length(hparams[2])
        writer.add_head_count(hparams[3])
        writer.add_block_count(n_layers)
        writer.add_layer_norm_eps(eps)
        writer.add_file_type(ftype)
        writer.add_causal_attention(False)
        if (pooling := _pooling(model_dir, gguf)) is not None:
            writer.add_pooling_type(pooling)
        # BertModel.set_vocab
        writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
        writer.add_tokenizer_model("bert")
        writer.add_tokenizer_pre(TOKENIZER_PRE)
        writer.add_token_list([_phantom(t, k) for t, k in zip(tokens, toktypes, strict=True)])
        writer.add_token_types(toktypes)
        # llama.cpp has no cls/sep-as-bos/eos distinction to store: cls is bos, sep is eos.
        writer.add_bos_token_id(special["cls"])
        writer.add_eos_token_id(special["sep"])
        writer.add_unk_token_id(special["unk"])
        writer.add_sep_token_id(special["sep"])
        writer.add_pad_token_id(special["pad"])
        writer.add_mask_token_id(special["mask"])
        # tokenizer.json's TemplateProcessing is "[CLS] $A [SEP]", so gguf.SpecialVocab marks
        # both added. Informational: llama.cpp 0.3.36's WordPiece path adds [CLS] and [SEP]
        # whenever special tokens are asked for, whatever add_bos/add_eos/add_sep say.
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(True)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

        for name, array in weights:
            data, qtype = _encode(name, array, dtype, gguf, np)
            writer.add_tensor(name, data, raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(part, out)
    except BaseException:
        with contextlib.suppress(Exception):  # keep the first error, not a close() failure
            writer.close()
        part.unlink(missing_ok=True)
        raise
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path} is missing; is this a Hugging Face model folder?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path} is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} is not a JSON object")
    return data


def _vocab(model_dir: Path, vocab_size: int) -> tuple[list[str], list[int]]:
    """The token texts by id and their types (TextModel.get_vocab_base): tokenizer.json's
    WordPiece vocabulary (vocab.txt when there is none), added special tokens as CONTROL,
    holes up to ``vocab_size`` as ``[PAD{i}]`` UNUSED."""
    added: dict[int, bool] = {}
    if (model_dir / "tokenizer.json").is_file():
        tok = _json(model_dir / "tokenizer.json")
        model = tok.get("model") or {}
        if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
            raise ModelLoadError(f"{model_dir}/tokenizer.json is not a WordPiece tokenizer")
        vocab = {str(t): int(i) for t, i in model["vocab"].items()}
        for entry in tok.get("added_tokens") or []:
            vocab[str(entry["content"])] = int(entry["id"])
            added[int(entry["id"])] = bool(entry.get("special"))
    else:
        try:
            lines = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelLoadError(
                f"{model_dir} has no readable tokenizer.json or vocab.txt ({exc})"
            ) from None
        vocab = {t: i for i, t in enumerate(lines)}
        # Without tokenizer.json, BertTokenizer's bracketed specials are the added tokens.
        added = {i: True for t, i in vocab.items() if t in _SPECIAL_TEXTS}
    if not vocab:
        raise ModelLoadError(f"{model_dir} has an empty vocabulary")
    size = max(vocab_size, max(vocab.values()) + 1)
    by_id = {i: t for t, i in vocab.items()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
        else:
            tokens.append(by_id[i])
            types.append(NORMAL if i not in added else CONTROL if added[i] else USER_DEFINED)
    return tokens, types


_SPECIAL_TEXTS = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}


def _phantom(token: str, toktype: int) -> str:
    # BertModel.set_vocab: llama.cpp's WPM tokenizer marks word starts with "▁" and
    # continuations bare, the reverse of BERT's "##" continuation prefix.
    if toktype == CONTROL:
        return token
    if token.startswith("##"):
        return token[2:]
    return "\u2581" + token


def _special_ids(model_dir: Path, tokens: list[str]) -> dict[str, int]:
    """The ids of the unk, sep, pad, cls and mask tokens named by special_tokens_map.json /
    tokenizer_config.json (BERT's bracketed names by default), as gguf.SpecialVocab finds
    them."""
    named: dict[str, Any] = {}
    for file in ("special_tokens_map.json", "tokenizer_config.json"):
        if (model_dir / file).is_file():
            named.update(_json(model_dir / file))
    defaults = {"unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]", "cls": "[CLS]", "mask": "[MASK]"}
    index = {t: i for i, t in enumerate(tokens)}
    ids: dict[str, int] = {}
    for kind, default in defaults.items():
        text = named.get(f"{kind}_token") or default
        if isinstance(text, dict):  # AddedToken serialised as {"content": ...}
            text = text.get("content", default)
        if text in index:
            ids[kind] = index[text]
    if missing := [k for k in defaults if k not in ids]:
        raise ModelLoadError(f"{model_dir}: the vocabulary has no {missing[0]} token")
    return ids


def _pooling(model_dir: Path, gguf: Any) -> Any:
    """BertModel._try_set_pooling_type: the sentence-transformers Pooling module's mode,
    None (no key written, llama.cpp's default applies) without one."""
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return None
    try:
        entries = json.loads(modules.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{modules} is not readable JSON ({exc})") from None
    for mod in entries:
        if mod.get("type") == "sentence_transformers.models.Pooling":
            pooling = _json(model_dir / mod.get("path", "") / "config.json")
            if pooling.get("pooling_mode_mean_tokens"):
                return gguf.PoolingType.MEAN
            if pooling.get("pooling_mode_cls_token"):
                return gguf.PoolingType.CLS
            if pooling.get("pooling_mode_lasttoken"):
                return gguf.PoolingType.LAST
            raise ModelLoadError(f"{model_dir}: only mean, CLS or last-token pooling converts")
    return None


def gguf_name(hf_name: str, n_layers: int) -> str | None:
    """The llama.cpp name of a Hugging Face BERT tensor; None for the ones dropped.
    Raises ModelLoadError for a tensor a plain BERT encoder does not have."""
    name = hf_name.removeprefix("bert.")
    if name.endswith(".gamma"):  # old TensorFlow-era checkpoints name LayerNorm this way
        name = name[: -len("gamma")] + "weight"
    elif name.endswith(".beta"):
        name = name[: -len("beta")] + "bias"
    if name.startswith(SKIPPED):
        return None
    stem, _, suffix = name.rpartition(".")
    if suffix in ("weight", "bias"):
        if stem in GLOBAL_TENSORS:
            return f"{GLOBAL_TENSORS[stem]}.{suffix}"
        parts = stem.split(".", 3)
        if len(parts) == 4 and parts[:2] == ["encoder", "layer"] and parts[2].isdigit():
            bid = int(parts[2])
            if bid < n_layers and parts[3] in BLOCK_TENSORS:
                return f"blk.{bid}.{BLOCK_TENSORS[parts[3]]}.{suffix}"
    raise ModelLoadError(f"model.safetensors has a tensor {hf_name!r} that BERT does not have")


def _read_weights(path: Path, n_layers: int) -> list[tuple[str, Any]]:
    """Every tensor llama.cpp needs, renamed, as float32 numpy arrays."""
    from safetensors import safe_open

    if not path.is_file():
        raise ModelLoadError(f"{path} is missing; the model's weights are needed to convert it")
    out: list[tuple[str, Any]] = []
    try:
        with safe_open(str(path), framework="np") as f:
            for hf_name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                name = gguf_name(hf_name, n_layers)
                if name is not None:
                    out.append((name, f.get_tensor(hf_name).astype("float32")))
    except ModelLoadError:
        raise
    except Exception as exc:  # safetensors raises its own SafetensorError, or OSError
        raise ModelLoadError(f"{path} is not a readable safetensors file ({exc})") from None
    names = {n for n, _ in out}
    needed = [f"{g}.weight" for g in GLOBAL_TENSORS.values()] + [
        f"blk.{b}.{t}.weight" for b in range(n_layers) for t in BLOCK_TENSORS.values()
    ]
    if missing := [n for n in needed if n not in names]:
        raise ModelLoadError(f"{path} lacks {len(missing)} BERT tensors (first: {missing[0]})")
    return out


def _encode(name: str, array: Any, dtype: Dtype, gguf: Any, np: Any) -> tuple[Any, Any]:
    """The tensor's data and GGML type as convert_hf_to_gguf.prepare_tensors picks them:
    1-D tensors, norms and the additive tables f32; the rest f16, or q8_0 where a row
    splits into whole 32-value blocks (else f16)."""
    f32 = gguf.GGMLQuantizationType.F32
    if array.ndim <= 1 or name.endswith("_norm.weight") or name in KEEP_F32:
        return np.ascontiguousarray(array, dtype=np.float32), f32
    if dtype == "q8_0":
        q8 = gguf.GGMLQuantizationType.Q8_0
        try:
            return gguf.quants.quantize(array, q8), q8
        except gguf.quants.QuantError:
            pass
    return np.ascontiguousarray(array, dtype=np.float16), gguf.GGMLQuantizationType.F16
