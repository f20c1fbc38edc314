"""Interoperability with the real peers: identical spikes on identical input.

snnTorch -> neuromorph and neuromorph -> snnTorch / Norse / Rockpool. Each peer is skipped when
it is not installed (they are in the ``test`` extra). See docs/nir.md for the conventions (the
peers' fixed time steps, resets) and for Sinabs, which cannot be installed next to them.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

pytest.importorskip("nir")

from neuromorph.networks.spiking_layers import SpikingLinear, SpikingSequential  # noqa: E402
from neuromorph.nir import PEER_DT, GraphNetwork, from_nir, to_nir  # noqa: E402

T, B, N_IN, H, O = 60, 6, 5, 6, 3
# the peers' own deprecation warnings (nirtorch.load, rockpool's numpy copy) are not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _input(seed: int = 0, p: float = 0.4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, B, N_IN, generator=g) < p).float()


def _scale_weights(net: nn.Module, factor: float) -> None:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(factor)


# ----------------------------------------------------------------------------- snnTorch
def _snntorch_run(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    from snntorch import utils as snu

    snu.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y = net(x[t])
            out.append(y[0] if isinstance(y, tuple) else y)
    return torch.stack(out)


def _snntorch_net(reset: str, reset_delay: bool, recurrent: bool = False) -> nn.Module:
    snn = pytest.importorskip("snntorch")
    torch.manual_seed(0)
    kw = dict(init_hidden=True, reset_mechanism=reset, reset_delay=reset_delay)
    first = (snn.RLeaky(beta=0.9, linear_features=H, **kw) if recurrent else
             snn.Leaky(beta=torch.full((H,), 0.9), threshold=torch.full((H,), 0.8), **kw))
    net = nn.Sequential(
        nn.Linear(N_IN, H), first, nn.Linear(H, O),
        snn.Synaptic(alpha=torch.full((O,), 0.7), beta=torch.full((O,), 0.85),
                     threshold=torch.ones(O), output=True, **kw),
    )
    _scale_weights(net, 3.0)
    return net


def _export_snntorch(net: nn.Module):
    from snntorch.export_nir import export_to_nir

    return export_to_nir(net, torch.randn(1, N_IN), ignore_dims=[0])


@pytest.mark.parametrize("recurrent", [False, True])
def test_snntorch_export_imports_with_identical_spikes(recurrent: bool) -> None:
    net = _snntorch_net("zero", False, recurrent)  # what NIR's LIF means: reset to v_reset
    x = _input()
    ref = _snntorch_run(net, x)
    ours = from_nir(_export_snntorch(net), dt=PEER_DT["snntorch"])
    assert isinstance(ours, GraphNetwork if recurrent else SpikingSequential)
    with torch.no_grad():
        got = ours(x)
        again = from_nir(to_nir(ours))(x)  # and the imported graph exports back exactly
    assert torch.equal(got, ref) and torch.equal(again, ref)
    assert ref.sum() >= 20


def test_snntorch_default_subtract_delayed_reset_via_overrides() -> None:
    # snnTorch's default Leaky/Synaptic (subtract, delayed reset) exports as plain NIR LIF; the
    # options NIR cannot carry are given explicitly on import.
    net = _snntorch_net("subtract", True)
    x = _input(1)
    ref = _snntorch_run(net, x)
    ours = from_nir(_export_snntorch(net), dt=PEER_DT["snntorch"], reset="subtract",
                    reset_delay=True, detach_reset=True)
    with torch.no_grad():
        assert torch.equal(ours(x), ref)
    assert ref.sum() >= 20


def _ours(neuron: str, dt: float, **kw) -> SpikingSequential:
    torch.manual_seed(2)
    net = SpikingSequential(SpikingLinear(N_IN, H, dt=dt, reset="zero", **kw.get("hidden", {})),
                            SpikingLinear(H, O, dt=dt, neuron=neuron, reset="zero",
                                          **kw.get("out", {})))
    _scale_weights(net, kw.get("gain", 3.0))
    return net


def test_ours_imports_into_snntorch_with_identical_spikes() -> None:
    pytest.importorskip("snntorch")
    from snntorch.import_nir import import_from_nir

    # snnTorch's importer needs unit input gain at its dt: r = tau / dt (w_in = tau_syn / dt)
    net = _ours("cuba_lif", 1e-3, hidden=dict(tau=0.01, r=10.0),
                out=dict(tau_syn=5e-3, w_in=5.0, tau_mem=0.01, r=10.0), gain=4.0)
    peer = import_from_nir(to_nir(net, dt_target=PEER_DT["snntorch"]))
    x = _input(2, 0.6)
    with torch.no_grad():
        ours = net(x)
    assert torch.equal(_snntorch_run(peer, x), ours)
    assert ours.sum() >= 20


@pytest.mark.parametrize("neuron", ["lif", "cuba_lif"])
def test_ours_imports_into_norse_with_identical_spikes(neuron: str) -> None:
    norse = pytest.importorskip("norse.torch")
    # Norse's importer reads LIF r as 1 (it ignores r) and applies CubaLIF's r and w_in.
    out = dict(tau=0.005, r=1.0) if neuron == "lif" else dict(tau_syn=4e-3, tau_mem=0.01,
                                                               w_in=2.0, r=3.0)
    net = _ours(neuron, 2e-3, hidden=dict(tau=0.01, r=1.0), out=out, gain=60.0)
    peer = norse.from_nir(to_nir(net, dt_target=PEER_DT["norse"]), dt=PEER_DT["norse"])
    x = _input(3, 0.5)
    state, spikes = None, []
    with torch.no_grad():
        for t in range(T):
            s, state = peer(x[t], state)
            spikes.append(s)
        ours = net(x)
    assert torch.equal(torch.stack(spikes), ours)
    assert ours.sum() >= 20


def test_ours_imports_into_rockpool_with_identical_spikes() -> None:
    pytest.importorskip("rockpool")
    from rockpool.nn.modules.torch.nir import from_nir as rockpool_from_nir

    # Rockpool's importer infers dt = tau_mem / (1 + r), decays exactly (exp), applies the
    # synaptic decay after adding the input, ignores r and w_in as gains, resets by subtraction
    # and may emit several spikes per step when v >= 2 threshold. A CubaLIF with
    # method="exact", r = tau_mem/dt - 1 and w_in = a_syn / ((1 - a_syn) r (1 - a_mem)) has
    # exactly those dynamics, and small weights keep v below 2 thresholds.
    dt, tau_syn, tau_mem = 1e-3, 5e-3, 20e-3
    a_syn, a_mem = math.exp(-dt / tau_syn), math.exp(-dt / tau_mem)
    r = tau_mem / dt - 1
    w_in = a_syn / ((1 - a_syn) * r * (1 - a_mem))
    torch.manual_seed(4)
    net = SpikingSequential(SpikingLinear(N_IN, H, bias=False, dt=dt, neuron="cuba_lif",
                                          method="exact", tau_syn=tau_syn, tau_mem=tau_mem, r=r,
                                          w_in=w_in, reset="subtract"))
    with torch.no_grad():
        net[0].synapse.weight.uniform_(0.0, 0.04)
    peer = rockpool_from_nir(to_nir(net))
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(200, B, N_IN, generator=g) < 0.5).float()
    with torch.no_grad():
        ours = net(x)
        theirs = peer(x.transpose(0, 1))[0].transpose(0, 1)
    assert theirs.max() <= 1 and torch.equal(theirs, ours)
    assert ours.sum() >= 100
