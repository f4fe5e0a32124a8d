"""The fit planner on real headers: the two test GGUFs and a QwQ-32B header without weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge.models import hardware
from qwq_edge.models.fit import FitError, GiB, Memory, ModelShape, Request, plan
from qwq_edge.models.gguf import read_gguf
from tests.support.qwq_header import write_qwq32b_header

KiB = 1024
QWQ = Request(target_ctx=32768, min_ctx=16384)  # the catalog's targets for qwq-32b


@pytest.fixture(scope="module")
def qwq(tmp_path_factory: pytest.TempPathFactory) -> ModelShape:
    path = write_qwq32b_header(tmp_path_factory.mktemp("qwq") / "qwq-32b-q4_k_m.gguf")
    return ModelShape.from_gguf(read_gguf(path, check_data=False))


def cuda(gib: int, name: str = "NVIDIA GeForce RTX 4090") -> Memory:
    return hardware.hypothetical(gib * GiB, "cuda", ram=64 * GiB, gpu=name)


def test_qwq_header_has_the_published_size_and_kv_arithmetic(qwq: ModelShape) -> None:
    assert qwq.layers == 64 and qwq.kv_heads == 8 and qwq.k_dim == qwq.v_dim == 128
    assert 19.7e9 < qwq.weight_bytes < 20.0e9  # published: 19.9 GB
    assert qwq.kv_per_token("f16") == 256 * KiB
    assert qwq.kv_per_token("q8_0") == 136 * KiB
    assert qwq.kv_per_token("q4_0") == 72 * KiB


def test_24_gib_gpu_holds_every_layer_and_12_to_16k_of_f16(qwq: ModelShape) -> None:
    p = plan(qwq, cuda(24), QWQ)
    assert p.all_on_gpu and p.llama_gpu_layers == -1
    assert 12 * 1024 <= p.max_ctx["f16"] <= 16 * 1024
    assert p.max_ctx["q8_0"] > 20 * 1024  # docs/architecture.md: ~24k at q8_0
    # f16 falls short of the 16k minimum, so the recommendation quantizes the cache to q8_0.
    assert p.kv_type == "q8_0" and p.n_ctx >= 16384
    assert any("f16 would fit" in n for n in p.notes)
    assert p.gpu_bytes <= cuda(24).gpu_budget
    assert p.tok_s_ceiling is not None and 30 < p.tok_s_ceiling < 60  # 1008 GB/s / ~19 GB


def test_16_gib_gpu_offloads_partially(qwq: ModelShape) -> None:
    p = plan(qwq, cuda(16, "RTX 4080"), QWQ)
    assert 0 < p.n_gpu_layers < 64 and not p.all_on_gpu
    assert p.llama_gpu_layers == p.n_gpu_layers
    assert any("partial offload" in n for n in p.notes)
    assert p.n_ctx >= 16384


def test_64_gib_mac_fits_32k_at_f16(qwq: ModelShape) -> None:
    mac = hardware.hypothetical(64 * GiB, "metal", gpu="Apple M2 Max")
    p = plan(qwq, mac, QWQ)
    assert p.all_on_gpu and p.kv_type == "f16" and p.n_ctx == 32768
    assert p.tok_s_ceiling is not None and 15 < p.tok_s_ceiling < 25  # 400 GB/s


def test_q4_kv_only_when_nothing_better_fits_and_it_says_so(qwq: ModelShape) -> None:
    # A 22 GiB card whose host cannot hold even one layer: q4_0 KV is the only way.
    tight = Memory(ram_bytes=int(2.5 * GiB), gpu_bytes=22 * GiB, backend="cuda")
    p = plan(qwq, tight, QWQ)
    assert p.kv_type == "q4_0" and p.all_on_gpu
    assert any("degrades tool calling" in n for n in p.notes)


def test_explicit_settings_override_and_refuse_with_numbers(qwq: ModelShape) -> None:
    p = plan(qwq, cuda(24), Request(n_ctx=8192, kv_type="f16", target_ctx=32768))
    assert (p.n_ctx, p.kv_type) == (8192, "f16") and p.all_on_gpu
    with pytest.raises(FitError) as err:
        plan(qwq, cuda(24), Request(n_ctx=65536, kv_type="f16", n_gpu_layers=-1))
    msg = str(err.value)
    assert "65,536" in msg and "GiB" in msg and "f16 ≤" in msg and "\n" not in msg
    with pytest.raises(FitError, match=r"usable of 16\.0 GiB"):
        plan(qwq, Memory(ram_bytes=16 * GiB), QWQ)


def test_test_models_plan_on_cpu_from_their_real_headers(
    qwen_path: Path, smollm_path: Path
) -> None:
    cpu = Memory(ram_bytes=24 * GiB, cpu_bandwidth=20e9)
    qwen = ModelShape.from_gguf(read_gguf(qwen_path))
    # 24 layers x 2 KV heads x (64 + 64) x 2 bytes = 12 KiB per token at f16
    assert qwen.kv_per_token("f16") == 12 * KiB
    p = plan(qwen, cpu, Request(target_ctx=8192, min_ctx=4096))
    assert (p.n_gpu_layers, p.n_ctx, p.kv_type) == (0, 8192, "f16")
    assert p.tok_s_ceiling is not None and p.tok_s_ceiling > 20
    smol = ModelShape.from_gguf(read_gguf(smollm_path))
    assert smol.kv_per_token("f16") == 30 * 3 * 128 * 2
    assert plan(smol, cpu, Request(target_ctx=65536)).n_ctx == 8192  # capped at its training


def test_catalog_estimate_is_close_to_the_real_header(qwq: ModelShape) -> None:
    est = ModelShape.estimate(
        "qwq-32b",
        file_size=19_900_000_000,
        layers=64,
        kv_heads=8,
        head_dim=128,
        embedding=5120,
        vocab=152064,
        ctx_train=131072,
    )
    real, guess = plan(qwq, cuda(24), QWQ), plan(est, cuda(24), QWQ)
    assert abs(real.max_ctx["f16"] - guess.max_ctx["f16"]) <= 1024
    assert guess.kv_type == real.kv_type


def test_sizes_and_bandwidth_table() -> None:
    assert hardware.parse_size("24GiB") == hardware.parse_size("24 GB") == 24 * GiB
    assert hardware.parse_size("512M") == 512 << 20
    with pytest.raises(ValueError):
        hardware.parse_size("lots")
    assert hardware.bandwidth_for("NVIDIA GeForce RTX 4090") == 1008e9
    assert hardware.bandwidth_for("Apple M3 Max") == 400e9
    assert hardware.bandwidth_for("Apple M3") == 100e9
    assert hardware.bandwidth_for("Mystery Card") is None
    assert hardware.metal_working_set(64 * GiB) == 48 * GiB


def test_explicit_q4_kv_still_offloads_partially(qwq: ModelShape) -> None:
    p = plan(qwq, cuda(16, "RTX 4080"), Request(kv_type="q4_0", target_ctx=32768, min_ctx=16384))
    assert p.kv_type == "q4_0" and 0 < p.n_gpu_layers < 64


def test_tied_embeddings_count_as_the_head_and_empty_shapes_are_refused(
    smollm_path: Path, tmp_path: Path
) -> None:
    import gguf

    from qwq_edge.errors import ModelLoadError

    smol = read_gguf(smollm_path)
    assert not any(t.name == "output.weight" for t in smol.tensors)
    embd = next(t for t in smol.tensors if t.name == "token_embd.weight")
    assert ModelShape.from_gguf(smol).output_bytes >= (embd.nbytes or 0) > 1 << 20
    bad = tmp_path / "empty.gguf"
    w = gguf.GGUFWriter(str(bad), "qwen2")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    with pytest.raises(ModelLoadError, match="attention shape"):
        ModelShape.from_gguf(read_gguf(bad))


def test_gpu_build_with_unknown_gpu_memory_still_offloads(
    qwen_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qwq_edge.models import open_model, resolve
    from qwq_edge.settings import Settings

    monkeypatch.setattr(hardware, "can_offload", lambda: True)
    monkeypatch.setattr(hardware, "this_machine", lambda offload: Memory(ram_bytes=24 * GiB))
    model = open_model(qwen_path)
    p = resolve.plan(Settings(), model)
    assert p.all_on_gpu and p.llama_gpu_layers == -1 and "GPU memory unknown" in p.notes[-1]
    p = resolve.plan(Settings(n_gpu_layers=10), model)
    assert p.n_gpu_layers == 10 and p.llama_gpu_layers == 10
