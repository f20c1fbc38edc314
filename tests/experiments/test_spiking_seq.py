"""spiking-seq on a tiny budget: metric keys, op bookkeeping, the text corpus, config errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from neuromorph.data.text_corpus import consecutive_windows, load_char_corpus, windows
from neuromorph.experiments.config import ConfigError, build_config
from neuromorph.experiments.spiking_seq import Config, main

TINY = {"d": "8", "d_ffn": "8", "lmu_channels": "2", "lmu_order": "3",
        "mnist1d_samples": "60", "mnist1d_epochs": "1", "spiking_epochs": "1",
        "text_chars": "3000", "text_steps": "2", "text_batch": "4", "seq_len": "16",
        "batch_size": "32"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    out = tmp_path_factory.mktemp("seq") / "run"
    out.mkdir()
    main(build_config(Config, TINY), out, progress=False)
    return out, json.loads((out / "metrics.json").read_text())


def test_files_and_keys(tiny_run: tuple[Path, dict[str, float]]) -> None:
    out, m = tiny_run
    assert {"results.txt", "spiking_seq.png", "model.pt"} <= {p.name for p in out.iterdir()}
    vocab = len(set(Path(load_char_corpus().source).read_text()[:3000]))
    for kind in ("lmu", "rwkv"):
        for variant in ("spiking", "twin"):
            assert 0.0 <= m[f"mnist1d_{kind}_{variant}_accuracy"] <= 1.0
            # two optimiser steps from a random start: near the uniform guess of log2(vocab)
            assert 0.5 * math.log2(vocab) < m[f"text_{kind}_{variant}_bpc"] < 2 * math.log2(vocab)
        for task in ("mnist1d", "text"):
            assert m[f"{task}_{kind}_twin_synops"] == 0.0  # the twin has no events
            assert m[f"{task}_{kind}_spiking_params"] == m[f"{task}_{kind}_twin_params"]
            assert f"{task}_{kind}_op_ratio" in m
        assert f"mnist1d_{kind}_gap_points" in m and f"text_{kind}_bpc_gap" in m
    assert m["test_accuracy"] == max(m["mnist1d_lmu_spiking_accuracy"],
                                     m["mnist1d_rwkv_spiking_accuracy"])


def test_twin_macs_do_not_depend_on_training(tiny_run: tuple[Path, dict[str, float]]) -> None:
    _, m = tiny_run
    d, f, du, q, steps = 8, 8, 2, 3, 40  # the TINY lmu twin on MNIST-1D, hand count per step
    per_step = d + d * du + du * q + du * q * q + 2 * du * q * d + 2 * d * f + d * 10
    assert m["mnist1d_lmu_twin_macs"] == steps * per_step


def test_corpus_is_the_module_source() -> None:
    corpus = load_char_corpus(max_chars=2000, train_fraction=0.75)
    text = Path(corpus.source).read_text(encoding="utf-8")[:2000]
    decoded = "".join(corpus.vocab[i] for i in torch.cat([corpus.train, corpus.test]).tolist())
    assert decoded == text and len(corpus.train) == 1500
    w = windows(corpus.train, 10, 3, torch.Generator().manual_seed(0))
    assert w.shape == (11, 3)
    c = consecutive_windows(corpus.test, 10)
    assert torch.equal(c[-1, :-1], c[0, 1:])  # neighbouring windows share one character


def test_config_errors_name_the_fix() -> None:
    with pytest.raises(ConfigError, match="unknown model 'gru'"):
        build_config(Config, {"models": "gru"})
    with pytest.raises(ConfigError, match="no Python source"):
        build_config(Config, {"text_module": "sys"})


def test_spiking_epochs_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="epochs"):
        build_config(Config, {"spiking_epochs": "0"})


def test_saved_models_reload_to_the_reported_metrics(tiny_run: tuple[Path, dict[str, float]]
                                                     ) -> None:
    """Every trained model reloads from spec + state alone (no experiment code) and scores the
    run's reported accuracy / bits per character on data rebuilt from its ``info``."""
    from torch.nn import functional as F

    from neuromorph.data.mnist1d import make_mnist1d
    from neuromorph.experiments.snn_eval import torch_threads
    from neuromorph.models import load_model
    from neuromorph.networks.sequence_models import SequenceModel

    out, m = tiny_run
    main_model, info = load_model(out)
    assert isinstance(main_model, SequenceModel) and info["model"] == "mnist1d_rwkv_spiking"
    assert main_model.spiking and main_model.kind == "rwkv"
    seen = set()
    for name in ["model", *info["others"]]:
        model, info = load_model(out / f"{name}.json")
        seen.add(info["model"])
        (metric, reported), = info["metric"].items()
        assert reported == m[metric]  # one seed: the per-seed figure is the reported mean
        with torch_threads(1), torch.no_grad():
            if info["task"] == "mnist1d":
                data = make_mnist1d(info["data"]["mnist1d_samples"], seed=info["seed"])
                pred = model.logits(data.x_test.T[..., None]).argmax(1)
                assert float((pred == data.y_test).float().mean()) == reported, name
            else:
                corpus = load_char_corpus(info["data"]["text_module"],
                                          max_chars=info["data"]["text_chars"])
                test = consecutive_windows(corpus.test, info["data"]["seq_len"])
                nll = F.cross_entropy(model.logits(test[:-1]).flatten(0, 1), test[1:].flatten())
                assert float(nll) / math.log(2.0) == reported, name
    assert seen == {f"{t}_{k}_{v}" for t in ("mnist1d", "text") for k in ("lmu", "rwkv")
                    for v in ("spiking", "twin")}


def test_export_refuses_the_sequence_models_in_one_line(tiny_run: tuple[Path, dict[str, float]],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from neuromorph.cli import main as cli

    out, _ = tiny_run
    for name, kind in (("model", "RWKVSequenceModel"), ("mnist1d_lmu_twin", "LMUSequenceModel")):
        nir_file = out / f"{name}.nir"
        assert cli(["export", str(out / f"{name}.json"), "--to", "nir", str(nir_file)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and f"holds a {kind}" in err, err
        assert "neuromorph.models.load_model" in err and not nir_file.exists()
