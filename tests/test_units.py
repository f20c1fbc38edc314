"""Brian2 ``Quantity`` values and implausible bare numbers in the event engine (issue 12)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import pytest

from neuromorph.sim import (
    Channel,
    COBALIFGroup,
    HHGroup,
    IzhikevichGroup,
    LIFGroup,
    Network,
)
from neuromorph.sim.groups_adaptive import AdaptiveLIFGroup
from neuromorph.units import ImplausibleUnitWarning, UnitError, as_seconds, as_si

b2 = pytest.importorskip("brian2")
ms, second, Mohm = b2.ms, b2.second, b2.Mohm
mV, nS, pF = b2.mV, b2.nS, b2.pF  # noqa: N816 - Brian2's unit names


def _lif(**kw):
    args = dict(tau_m=20e-3, v_rest=-0.07, v_threshold=1.0, v_reset=-0.07)
    args.update(kw)
    return LIFGroup(3, **args)


def _coarse_net() -> Network:
    """A one-second step (given as a Quantity, so it does not warn): run(100) is 100 steps."""
    net = Network(dt=1 * second)
    net.add(_lif())
    return net


def test_quantities_become_si_floats():
    assert as_seconds(5 * ms, "tau") == pytest.approx(5e-3, rel=1e-12)
    assert as_si(-65 * mV, "v_rest", "V") == pytest.approx(-0.065, rel=1e-12)
    assert as_si(10 * nS, "g_leak", "S") == pytest.approx(1e-8, rel=1e-12)
    assert as_si(200 * pF, "c_m", "F") == pytest.approx(2e-10, rel=1e-12)
    assert as_si(0.02 / ms, "a", "Hz") == pytest.approx(20.0, rel=1e-12)
    assert as_si(8 * mV / ms, "d", "V/s") == pytest.approx(8.0, rel=1e-12)
    assert as_si(0.25, "x", "V") == 0.25  # a float is SI already


def test_a_quantity_of_the_wrong_dimension_is_one_line_naming_the_parameter():
    with pytest.raises(UnitError, match=r"^tau_m=.* has units of V, but tau_m is in s; pass e\.g\. "
                                        r"tau_m=5\*ms$") as info:
        _lif(tau_m=5 * mV)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="v_rest"):  # UnitError is a ValueError too
        _lif(v_rest=20 * ms)
    with pytest.raises(UnitError, match="one value"):
        as_seconds([1, 2] * ms, "tau")


def test_a_group_built_from_quantities_decays_as_the_analytic_solution():
    """v(t) = v_rest + (v0 - v_rest) exp(-t / tau_m), with every parameter a Quantity."""
    net = Network(dt=0.1 * ms)
    g = net.add(LIFGroup(2, tau_m=20 * ms, v_rest=-70 * mV, v_threshold=0 * mV,
                         v_reset=-70 * mV, refractory=2 * ms))
    g.set("v", -0.060)
    net.run(10 * ms)
    expected = -0.070 + 0.010 * math.exp(-10e-3 / 20e-3)
    assert net.dt == pytest.approx(1e-4, rel=1e-12) and net.t == pytest.approx(1e-2, rel=1e-9)
    assert g.v.tolist() == pytest.approx([expected] * 2, rel=1e-5)


def test_every_engine_group_takes_quantities():
    ch = Channel(5 * ms, e_rev=0 * mV)
    assert (ch.tau, ch.e_rev) == (pytest.approx(5e-3), 0.0)
    coba = COBALIFGroup(2, tau_m=20 * ms, v_rest=-60 * mV, v_threshold=-50 * mV,
                        v_reset=-60 * mV, channels={"ge": ch}, g_leak=10 * nS)
    assert coba.g_leak == pytest.approx(1e-8) and coba.r_m == pytest.approx(1e8)
    adapt = AdaptiveLIFGroup(2, tau_m=20 * ms, v_rest=-70 * mV, v_threshold=-50 * mV,
                             v_reset=-70 * mV, tau_threshold=50 * ms, threshold_jump=2 * mV,
                             r_m=100 * Mohm)
    assert adapt.tau_threshold == pytest.approx(0.05)
    assert adapt.threshold_jump == pytest.approx(2e-3)
    assert adapt.get("v_th").tolist() == pytest.approx([-0.05, -0.05])
    hh = HHGroup(2, c_m=200 * pF, e_l=-60 * mV, refractory=3 * ms)
    assert hh.c_m == pytest.approx(2e-10) and hh.v_reset == pytest.approx(-0.06)
    izh = IzhikevichGroup(2, a=0.02 / ms, b=0.2 / ms, c=-65 * mV, d=8 * mV / ms, v_peak=30 * mV)
    assert (izh.a, izh.b, izh.c, izh.d) == pytest.approx((20.0, 200.0, -0.065, 8.0))
    assert izh.get("u").tolist() == pytest.approx([200.0 * -0.065] * 2)


@pytest.mark.parametrize(("make", "name"), [
    (lambda: Network(dt=0.1), "dt"),
    (lambda: _lif(tau_m=20), "tau_m"),
    (lambda: _lif(refractory=2), "refractory"),
    (lambda: Channel(5.0), "tau"),
    (lambda: _coarse_net().run(100), "duration"),
])
def test_a_bare_brian2_millisecond_value_warns_one_line_at_the_users_line(make, name):
    with pytest.warns(ImplausibleUnitWarning, match=rf"^{name}=\S+ s is implausibly long .*"
                                                    r"did you mean \S+\*ms = ") as record:
        make()
    assert len(record) == 1 and "\n" not in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller, not into the engine


def test_plausible_values_quantities_and_deliberate_no_leak_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImplausibleUnitWarning)
        net = Network(dt=1e-4)
        net.add(_lif(tau_m=1e9, refractory=2e-3, channels={"ge": 5e-3}))  # tau_m=1e9: no leak
        net.add(_lif(tau_m=math.inf, name="perfect"))
        net.run(0.5)
        coarse = Network(dt=0.1 * ms)
        coarse.add(_lif())
        coarse.run(200 * ms)
        _lif(tau_m=20 * second)  # explicit units: the user meant it
        assert as_seconds(100 * second, "duration", kind="duration") == 100.0


def test_the_units_module_does_not_import_brian2():
    code = "import sys, neuromorph.units, neuromorph.sim; print('brian2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
