"""Chip-parity training: QAT's straight-through forward is the integer model, the flush lines the
chip's readout up with the float network, the silence check fires, in-loop SPSA never
differentiates the integer model."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from neuromorph.experiments import snn_digits
from neuromorph.experiments.snn_common import build_network, train_seed
from neuromorph.hardware_models.chips import quantize
from neuromorph.hardware_models.chips.qat import ChipQAT
from neuromorph.hardware_models.chips.silence import SilentLayerError, check_silence
from neuromorph.learning_rules.chip_in_the_loop import integer_loss, spsa_fine_tune

CHIPS = ("loihi2", "xylo")


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    cfg = snn_digits.Config(seeds=1, hidden=(16,), epochs=3, train_subset=300, n_steps=8)
    task = snn_digits.digits_task(cfg, 0)
    model = train_seed(cfg, task, 0, lambda: None).model.eval()
    x, y = task.batch(torch.arange(120), False, torch.Generator().manual_seed(1))
    return model, x, y


@pytest.mark.parametrize("chip", CHIPS)
def test_qat_forward_is_the_integer_model(trained, chip: str) -> None:
    model, x, _ = trained
    qat = ChipQAT.from_network(model, chip, calibration=x)
    # at the start: the chip quantiser's own integer network (an independent implementation)
    ptq = quantize(model, chip, calibration=x).run(x, flush=True).readout
    with torch.no_grad():
        assert torch.equal(qat(x), ptq)
    # after moving the shadow weights off their grid: still bit for bit, and gradients flow
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in qat.parameters():
            p.mul_(1 + 0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    out = qat(x)
    assert torch.equal(out.detach(), qat.to_integer().run(x, flush=True).readout)
    out.square().mean().backward()
    w = qat.layers[0].weight.grad
    assert w is not None and torch.isfinite(w).all() and w.abs().sum() > 0


@pytest.mark.parametrize("chip", CHIPS)
def test_flush_aligns_delayed_readout_with_undelayed(trained, chip: str) -> None:
    model, x, _ = trained
    with torch.no_grad():  # no constant drive: a delay is then a pure shift of every trace
        state = {k: v.clone() for k, v in model.state_dict().items()}
        for k in state:
            if k.endswith("bias"):
                state[k].zero_()
    bias_free = snn_digits.Config(seeds=1, hidden=(16,), n_steps=8)
    net_model = build_network(bias_free, 64, 10)
    net_model.load_state_dict(state)
    net = quantize(net_model, chip, calibration=x)
    assert net.depth >= 1
    flushed = net.run(x, flush=True).readout
    assert flushed.shape[0] == x.shape[0]
    assert torch.equal(flushed, net.run(x, delays=False).readout)
    # reading the first T steps only loses the answer's tail
    assert not torch.equal(net.run(x).readout, flushed)


def test_silence_check_names_the_silent_layer(trained) -> None:
    model, x, _ = trained
    net = quantize(model, "loihi2", calibration=x)
    check_silence(net, net.run(x, flush=True))  # the trained network fires
    # pixel 0 of every 8x8 digit is blank, so input 0 never spikes: a huge weight from it leaves
    # the float network unchanged, but it sets Loihi's weight scale and every other weight of
    # the layer rounds to 0 on the chip
    assert x[:, :, 0].sum() == 0
    silent_model = build_network(snn_digits.Config(seeds=1, hidden=(16,), n_steps=8), 64, 10)
    silent_model.load_state_dict(model.state_dict())
    with torch.no_grad():
        silent_model.layers[0].synapse.weight[:, 0] = -1e4
        assert silent_model.layers[0](x).sum() > 0  # the float layer still fires
    silent = quantize(silent_model, "loihi2", calibration=x)
    with pytest.raises(SilentLayerError, match="hidden1 emitted no spike.*QAT"):
        check_silence(silent, silent.run(x, flush=True), ["hidden1", "readout"])


@pytest.mark.parametrize("chip", CHIPS)
def test_in_loop_never_differentiates_the_integer_model(trained, chip: str) -> None:
    model, x, y = trained
    qat = ChipQAT.from_network(model, chip, calibration=x)
    inner, calls = qat._template.step, []

    def guarded(layer, events, state, prev):  # noqa: ANN001, ANN202
        if torch.is_grad_enabled() or events.requires_grad or events.is_floating_point():
            raise RuntimeError("the integer model was asked for a gradient")
        calls.append(1)
        return inner(layer, events, state, prev)

    qat._template = dataclasses.replace(qat._template, step=guarded)
    before = [p.detach().clone() for p in qat.parameters()]
    loss0 = integer_loss(qat.to_integer(), x, y, "mean_membrane")
    history = spsa_fine_tune(qat, lambda _: iter([(x, y)] * 3), 1, "mean_membrane",
                             perturbations=2, seed=5)
    assert len(history) == 3 and calls
    assert all(torch.isfinite(torch.tensor(history)))
    assert any(not torch.equal(a, p) for a, p in zip(before, qat.parameters(), strict=True))
    assert abs(history[0] - loss0) < 0.5  # the loss it measures is the integer model's
    with pytest.raises(RuntimeError, match="asked for a gradient"), torch.enable_grad():
        qat.to_integer().run(x.float().requires_grad_())
