"""Multi-step neuron kernels and the one place that picks a backend for them.

Each neuron has one entry point here with the signature of its torch reference
(:mod:`neuromorph.sim.kernels.reference`) plus ``backend=``:

- ``"auto"`` (default): CUDA tensors -> the Triton kernels (``triton_lif`` / ``triton_cuba`` /
  ``triton_if``, imported lazily), anything else -> the fused CPU autograd path (``cpu_lif``).
  If Triton is unavailable for a CUDA tensor the fused torch path runs instead, with a warning.
- ``"cpu"``: the fused autograd path (pure torch, so it also runs on CUDA tensors).
- ``"triton"``: the Triton kernels (an ``ImportError`` explains what is missing).
- ``"reference"``: the plain step loop under autograd (slow; the ground truth).

``trace=False`` (an extension of the reference signature) returns the *final* membrane state
``[B, N]`` (and current, for CuBa) instead of the full ``[T, B, N]`` trace; the fused CPU path then
never materialises the trace, which saves memory.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from neuromorph.sim.kernels.cpu_cuba import cuba_lif_multistep_cpu
from neuromorph.sim.kernels.cpu_fused import linear_lif_multistep
from neuromorph.sim.kernels.cpu_lif import if_multistep_cpu, lif_multistep_cpu
from neuromorph.sim.kernels.reference import (
    cuba_lif_multistep_reference,
    if_multistep_reference,
    lif_multistep_reference,
    options_of,
)
from neuromorph.specs.options import SpikeOptions

KernelFn = Callable[..., tuple[Tensor, ...]]

def _triton_lif() -> KernelFn:
    from neuromorph.sim.kernels.triton_lif import lif_multistep_triton
    return lif_multistep_triton


def _triton_cuba() -> KernelFn:
    from neuromorph.sim.kernels.triton_cuba import cuba_lif_multistep_triton
    return cuba_lif_multistep_triton


def _triton_if() -> KernelFn:
    from neuromorph.sim.kernels.triton_if import if_multistep_triton
    return if_multistep_triton


#: neuron -> loader of its Triton kernel (imported lazily: triton is optional; plain import
#: statements, which ``torch.compile`` can trace, unlike ``importlib``).
_TRITON: dict[str, Callable[[], KernelFn]] = {
    "lif": _triton_lif,
    "cuba_lif": _triton_cuba,
    "if": _triton_if,
}
_REFERENCE: dict[str, KernelFn] = {
    "lif": lif_multistep_reference,
    "cuba_lif": cuba_lif_multistep_reference,
    "if": if_multistep_reference,
}
_CPU: dict[str, KernelFn] = {
    "lif": lif_multistep_cpu,
    "cuba_lif": cuba_lif_multistep_cpu,
    "if": if_multistep_cpu,
}
_warned: set[str] = set()


def _load_triton(neuron: str) -> KernelFn:
    try:
        return _TRITON[neuron]()
    except ImportError as err:
        raise ImportError(
            f"the Triton {neuron} kernel is not available ({err}); install triton and "
            "run on a CUDA device, or pass backend='cpu' (fused torch path) or 'reference'"
        ) from err


def _auto(neuron: str, x: Tensor) -> KernelFn:
    if not x.is_cuda:
        return _CPU[neuron]
    try:
        return _load_triton(neuron)
    except ImportError as err:
        if neuron not in _warned:
            _warned.add(neuron)
            warnings.warn(f"{err}; falling back to the fused torch path", stacklevel=3)
        return _CPU[neuron]


#: backend name -> resolver(neuron, x) -> kernel. The one place backends are named.
BACKENDS: dict[str, Callable[[str, Tensor], KernelFn]] = {
    "auto": _auto,
    "cpu": lambda neuron, x: _CPU[neuron],
    "triton": lambda neuron, x: _load_triton(neuron),
    "reference": lambda neuron, x: _REFERENCE[neuron],
}


def select_kernel(neuron: str, x: Tensor, backend: str = "auto") -> KernelFn:
    """The kernel that ``backend`` picks for ``neuron`` (``"lif"``, ``"cuba_lif"``, ``"if"``)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}")
    if neuron not in _REFERENCE:
        raise ValueError(f"unknown neuron kernel {neuron!r}; choose one of {sorted(_REFERENCE)}")
    return BACKENDS[backend](neuron, x)


def refuse_nan_state(v: Tensor) -> None:
    """Raise one ``ValueError`` when a membrane state holds NaN.

    A NaN input makes the membrane NaN for the rest of the sequence (``NaN > theta`` is false
    and no reset clears it), so the neuron falls silent without a word. Testing the final
    membrane ``[B, N]`` (not the ``[T, B, N]`` input) catches every such input at a fraction of
    the cost; on CUDA it is one device sync per call (skipped while ``torch.compile`` traces).
    """
    if torch.compiler.is_compiling():
        return
    if bool(torch.isnan(v).any()):
        n = int(torch.isnan(v).reshape(-1, v.shape[-1]).any(0).sum())
        raise ValueError(f"the spiking input holds NaN (or inf - inf): {n} neuron(s) went silent "
                         "with a NaN membrane; clean the data or the layer before "
                         "(e.g. torch.nan_to_num), or pass a finite state")


def _call(neuron: str, x: Tensor, args: tuple[Tensor, ...], options: SpikeOptions | None,
          trace: bool, backend: str) -> tuple:
    fn = select_kernel(neuron, x, backend)
    options = options_of(options)
    if fn in _REFERENCE.values():
        out = fn(x, *args, options)
        out = out if trace else (out[0], *(o[-1] for o in out[1:]))
    else:
        out = fn(x, *args, options, trace=trace)
    refuse_nan_state(out[-1][-1:] if trace else out[-1])
    return out


def lif_multistep(
    x: Tensor, v0: Tensor, alpha: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True, backend: str = "auto",
) -> tuple[Tensor, Tensor]:
    """Multi-step LIF; see :func:`~neuromorph.sim.kernels.reference.lif_multistep_reference`.

    ``options`` (:class:`~neuromorph.specs.SpikeOptions`, default: subtract reset in the same
    step, fast-sigmoid surrogate) holds the spike and reset options. Raises ``ValueError`` when
    the input makes the membrane NaN (:func:`refuse_nan_state`).
    """
    return _call("lif", x, (v0, alpha, theta), options, trace, backend)  # type: ignore[return-value]


def cuba_lif_multistep(
    x: Tensor, i0: Tensor, v0: Tensor, alpha_syn: Tensor, alpha_mem: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True, backend: str = "auto",
) -> tuple[Tensor, Tensor, Tensor]:
    """Multi-step CuBa-LIF; returns ``(spikes, i, v)`` (see the reference for the equations)."""
    return _call("cuba_lif", x, (i0, v0, alpha_syn, alpha_mem, theta), options, trace,  # type: ignore[return-value]
                 backend)


def if_multistep(
    x: Tensor, v0: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, trace: bool = True, backend: str = "auto",
) -> tuple[Tensor, Tensor]:
    """Multi-step integrate-and-fire (LIF with ``alpha = 1``)."""
    return _call("if", x, (v0, theta), options, trace, backend)  # type: ignore[return-value]


def _linear_then_lif(inp: Tensor, weight: Tensor, bias: Tensor | None, v0: Tensor,
                     alpha: Tensor, theta: Tensor, options: SpikeOptions, *,
                     gain: Tensor | None = None,
                     shift: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Unfused ``Linear`` then the Triton LIF custom op (what ``torch.compile`` traces)."""
    x = torch.nn.functional.linear(inp, weight, bias)
    if gain is not None:
        x = x * gain
    if shift is not None:
        x = x + shift
    return _triton_lif()(x, v0, alpha, theta, options, trace=False)


def linear_lif(
    inp: Tensor, weight: Tensor, bias: Tensor | None, v0: Tensor, alpha: Tensor, theta: Tensor,
    options: SpikeOptions | None = None, *, backend: str = "auto", recompute: bool = False,
    chunk: int | None = None, gain: Tensor | None = None, shift: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Fused ``Linear`` + LIF (``spikes, v_final``); arguments as in
    :func:`~neuromorph.sim.kernels.cpu_fused.linear_lif_multistep`.

    ``backend="triton"``, or ``"auto"`` with CUDA tensors, runs the Triton fused op
    (:mod:`.triton_fused`); ``"cpu"``, ``"auto"`` with CPU tensors and ``recompute=True`` (which
    only the torch path implements) run the fused torch op (:mod:`.cpu_fused`, any device).
    Raises ``ValueError`` when the input makes the membrane NaN (:func:`refuse_nan_state`).
    """
    if backend not in ("auto", "cpu", "triton"):
        raise ValueError(f"the fused Linear + LIF op has backends 'auto', 'cpu' and 'triton', "
                         f"got {backend!r}")
    options = options_of(options)
    out = None
    if (backend == "triton" or (backend == "auto" and inp.is_cuda)) and not recompute:
        try:
            from neuromorph.sim.kernels.triton_fused import linear_lif_triton
        except ImportError as err:
            if backend == "triton":
                raise ImportError(f"the Triton fused Linear + LIF op needs triton ({err})") from err
            if "linear_lif" not in _warned:
                _warned.add("linear_lif")
                warnings.warn(f"triton is unavailable ({err}); falling back to the fused torch "
                              "path", stacklevel=2)
        else:
            if torch.compiler.is_compiling():  # the custom ops trace; the fused Function does not
                return _linear_then_lif(inp, weight, bias, v0, alpha, theta, options,
                                        gain=gain, shift=shift)
            out = linear_lif_triton(inp, weight, bias, v0, alpha, theta, options,
                                    gain=gain, shift=shift)
    if out is None:
        out = linear_lif_multistep(inp, weight, bias, v0, alpha, theta, options,
                                   recompute=recompute, chunk=chunk, gain=gain, shift=shift)
    refuse_nan_state(out[1])
    return out


__all__ = [
    "BACKENDS",
    "cuba_lif_multistep",
    "linear_lif",
    "refuse_nan_state",
    "if_multistep",
    "lif_multistep",
    "select_kernel",
]
