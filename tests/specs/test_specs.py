"""The spec layer: validation once at construction, value semantics, dict/JSON round trip, and
the dense neuron modules running a spec exactly as their keyword constructor does."""

from __future__ import annotations

import json
import math

import pytest
import torch

from neuromorph import specs as S
from neuromorph.networks import neurons as N
from neuromorph.nir import layers as L
from neuromorph.specs.neurons import CondLIF


def _roundtrip(spec: S.Spec) -> S.Spec:
    return S.spec_from_dict(json.loads(json.dumps(spec.to_dict())))


@pytest.mark.parametrize("spec", [
    S.LIF(tau=0.01, shape=(3,), v_threshold=[1.0, 2.0, 3.0], refractory=2e-3),
    S.CubaLIF(tau_syn=3e-3, options=S.SpikeOptions(reset="zero", v_reset=-0.1)),
    S.IF(r=2.0), S.LI(tau=0.1, method="exact"), S.CubaLI(w_in=0.5), S.Integrator(r=3.0),
    S.ALIF(options={"surrogate": "atan"}),
    CondLIF(shape=(2,), v_threshold=[-0.05, -0.045], refractory=2e-3,
            options=S.SpikeOptions(reset="zero", v_reset=-0.07)),
    S.Affine(4, 3, bias=False), S.Conv(2, 4, kernel_size=(3, 3), padding=1),
    S.Pool2d((2, 2), mode="avg"), S.Delay([0.0, 1e-3]), S.Threshold(0.5), S.Scale(2.0),
    S.Channel(5e-3, scale=2.0), S.Channel(5e-3, e_rev=-0.08), S.Flatten(),
    S.Sequential(layers=(S.Affine(2, 3), S.LIF(shape=(3,)))),
    S.Graph(nodes={"in": S.Input((2,)), "fc": S.Affine(2, 3), "n": S.LIF(shape=3),
                   "out": S.Output((3,))},
            edges=[("in", "fc"), ("fc", "n"), ("n", "out")]),
])
def test_spec_round_trips_through_json(spec: S.Spec) -> None:
    back = _roundtrip(spec)
    assert back == spec and type(back) is type(spec)
    assert hash(back) == hash(spec)


@pytest.mark.parametrize("make, words", [
    (lambda: S.LIF(tau=0.0), "tau must be positive"),
    (lambda: S.LIF(tau=float("nan")), "tau must be finite"),
    (lambda: S.LIF(shape=2, v_threshold=[1.0, 2.0, 3.0]), "3 values but the population has 2"),
    (lambda: S.LIF(method="rk4"), "unknown discretisation method"),
    (lambda: S.LIF(options={"reset": "hard"}), "unknown reset 'hard'"),
    (lambda: S.IF(options={"surrogate": "nope"}), "unknown surrogate 'nope'"),
    (lambda: S.LIF(refractory=-1e-3), "refractory must be >= 0"),
    (lambda: CondLIF(tau_exc=0.0), "tau_exc must be positive"),
    (lambda: CondLIF(options={"reset": "subtract"}), "use reset='zero', reset_delay=False"),
    (lambda: S.Graph(nodes={"a": S.Input((1,))}, edges=[("a", "b")]), "unknown nodes ['b']"),
    (lambda: S.spec_from_dict({"kind": "Warp"}), "unknown spec kind 'Warp'"),
    (lambda: S.spec_from_dict({"kind": "LIF", "taus": 1.0}), "unknown fields ['taus']"),
    (lambda: S.SpikeOptions.from_dict({"rest": "zero"}), "unknown spike options"),
])
def test_bad_specs_fail_once_with_the_field_named(make, words: str) -> None:
    with pytest.raises(ValueError, match=None) as err:
        make()
    assert words in str(err.value)


def test_options_are_canonical() -> None:
    a = S.SpikeOptions(surrogate="atan")
    b = S.SpikeOptions(surrogate="arctan", scale=2.0)
    assert a == b and a.surrogate == "arctan" and a.scale == 2.0
    assert S.SpikeOptions().scale == 25.0  # fast_sigmoid's default, resolved at construction


MODULES = [(N.LIF, {"tau": 5e-3, "v_threshold": 0.5, "reset": "zero", "v_reset": 0.1}),
           (N.CubaLIF, {"tau_syn": 4e-3, "w_in": 2.0, "reset_delay": True}),
           (N.IF, {"r": 300.0}),
           (N.LI, {"tau": 8e-3, "method": "exact"}),
           (N.ALIF, {"beta_adapt": 0.5, "surrogate": "sigmoid"}),
           (N.Integrator, {"r": 100.0}),
           (N.CubaLI, {"tau_mem": 9e-3}),
           (N.LIF, {"beta": 0.8, "options": S.SpikeOptions(reset_delay=True)}),
           (N.CondLIF, {"refractory": 2e-3, "v_leak": -0.07, "v_reset": -0.072,
                        "tau_inh": 3e-3, "surrogate": "sigmoid"})]


@pytest.mark.parametrize("cls, kw", MODULES, ids=[c.__name__ for c, _ in MODULES])
def test_module_from_its_spec_gives_the_same_output(cls, kw) -> None:
    torch.manual_seed(0)
    made = cls(5, dt=1e-3, **kw)
    rebuilt = cls.from_spec(_roundtrip(made.spec), dt=1e-3)
    x = torch.rand(30, 2, 5) * 400.0
    assert torch.equal(made(x), rebuilt(x))
    assert rebuilt.spec == made.spec


def test_moved_neurons_keep_their_nir_layers_names() -> None:
    assert L.Integrator is N.Integrator and L.CubaLI is N.CubaLI


def test_spec_reports_the_resolved_default_gain() -> None:
    """r / w_in not given resolve to unit step gain; the spec (and so NIR) carries the number."""
    assert N.LIF(dt=2e-3, tau=20e-3).spec.r == pytest.approx(10.0)
    assert N.IF(dt=1e-3).spec.r == pytest.approx(1000.0)
    cuba = N.CubaLIF(dt=1e-3, tau_syn=5e-3, tau_mem=10e-3).spec
    assert (cuba.w_in, cuba.r) == pytest.approx((5.0, 10.0))
    rebuilt = N.LIF.from_spec(N.LIF(dt=1e-3, method="exact").spec, dt=1e-3)
    assert rebuilt.r.item() == pytest.approx(1.0 / -math.expm1(-1e-3 / 20e-3), rel=1e-6)


def test_spec_carries_trained_values() -> None:
    lif = N.LIF(3, dt=1e-3, learn_tau=True)
    with torch.no_grad():
        lif.tau.copy_(torch.tensor([0.01, 0.02, 0.03]))
    assert lif.spec.tau == pytest.approx((0.01, 0.02, 0.03))


def test_dense_layer_refuses_a_refractory_spec() -> None:
    with pytest.raises(ValueError, match="no refractory period"):
        N.LIF.from_spec(S.LIF(refractory=2e-3), dt=1e-3)
    with pytest.raises(TypeError, match="runs LIF specs"):
        N.LIF.from_spec(S.IF(), dt=1e-3)
