"""The dense, trainable LIF (:class:`neuromorph.networks.neurons.LIF`) and the event engine's
:class:`neuromorph.sim.LIFGroup` are one model: on the same injected current they give the same
spikes and membrane traces (float64, exact discretisation, reset to ``v_reset``).

Only LIF is shared today: the engine's CuBa channels integrate the synaptic current exactly over
the step (``P_k`` in :mod:`neuromorph.sim.propagators`) while the dense ``CubaLIF`` feeds the
end-of-step current, the engine has no IF group and its adaptive threshold differs from ALIF's.
"""

from __future__ import annotations

import pytest
import torch

from neuromorph.networks.neurons import LIF, LIFState
from neuromorph.sim import CurrentInput, LIFGroup, Network, SpikeMonitor, StateMonitor

T, N, DT = 600, 6, 1e-4
PARAMS = dict(tau=20e-3, r=1e7, v_leak=-65e-3, v_threshold=-50e-3, v_reset=-70e-3)


@pytest.fixture
def float64_default():
    """Dense neuron buffers take the default dtype; float64 keeps 20e-3 s unrounded."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _engine(current: torch.Tensor, refractory: float) -> tuple[torch.Tensor, torch.Tensor]:
    p = PARAMS
    net = Network(DT, dtype=torch.float64)
    group = net.add(LIFGroup(N, tau_m=p["tau"], v_rest=p["v_leak"], r_m=p["r"],
                             v_threshold=p["v_threshold"], v_reset=p["v_reset"],
                             refractory=refractory))
    net.add(CurrentInput(group, current.numpy()))
    spikes, state = net.add(SpikeMonitor(group)), net.add(StateMonitor(group, "v"))
    net.run(T * DT)
    s = torch.zeros(T, N, dtype=torch.float64)
    s[spikes.steps, spikes.i] = 1.0
    # the monitor samples at the start of a step: row t + 1 is v after step t
    return s, torch.from_numpy(state.v)[1:]


def test_dense_lif_equals_engine_lif_group(float64_default):
    g = torch.Generator().manual_seed(0)
    current = torch.rand(T, N, generator=g, dtype=torch.float64) * 6e-9  # amperes
    dense = LIF(N, dt=DT, method="exact", reset="zero", **PARAMS)
    v0 = LIFState(torch.full((1, N), PARAMS["v_leak"]))  # the engine starts at v_rest
    out = dense(current[:, None], v0, return_v=True)
    s_dense, v_dense = out.spikes[:, 0], out.v[:, 0]
    s_eng, v_eng = _engine(current, refractory=0.0)
    assert s_eng.sum() >= 3 * N, "the current must make every neuron spike a few times"
    torch.testing.assert_close(s_dense, s_eng, rtol=0, atol=0)
    torch.testing.assert_close(v_dense[:-1], v_eng, rtol=0, atol=1e-12)


def test_engine_refractoriness_is_the_documented_difference(float64_default):
    """With ``refractory > 0`` (which the dense neuron does not model) the first spikes agree and
    the trains part afterwards: the check above is not blind to the engine's options."""
    g = torch.Generator().manual_seed(1)
    current = torch.rand(T, N, generator=g, dtype=torch.float64) * 6e-9
    dense = LIF(N, dt=DT, method="exact", reset="zero", **PARAMS)
    out = dense(current[:, None], LIFState(torch.full((1, N), PARAMS["v_leak"])))
    s_eng, _ = _engine(current, refractory=2e-3)
    first = int(torch.nonzero(s_eng.any(1))[0])
    torch.testing.assert_close(out[: first + 1, 0], s_eng[: first + 1], rtol=0, atol=0)
    assert not torch.equal(out[:, 0], s_eng)
