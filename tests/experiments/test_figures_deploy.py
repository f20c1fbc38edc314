"""deploy-digits' bar chart shows each chip's check errors and the change from float; its
printed summary counts errors in the right number."""

import numpy as np

from neuromorph.experiments.deploy_digits import accuracy_figure, chip_summary


def _metrics(errors: dict[str, int]) -> dict[str, float]:
    m = {"test_accuracy_float": 0.5153}
    for chip, acc in (("loihi2", 0.4624), ("xylo", 0.4540)):
        m |= {f"test_accuracy_{chip}": acc, f"test_accuracy_{chip}_numerics": acc + 0.05,
              f"accuracy_{chip}_ptq": acc + 0.03, f"accuracy_{chip}_qat": acc + 0.11,
              f"accuracy_{chip}_int": acc + 0.11, f"violations_{chip}_errors": errors[chip],
              f"violations_{chip}_warnings": 1.0, f"energy_per_inference_{chip}_nJ": 70.6}
    return m


def test_bars_flag_the_chip_with_errors_and_label_the_change_from_float():
    fig = accuracy_figure(_metrics({"loihi2": 0, "xylo": 2}), ("loihi2", "xylo"))
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "float" and ticks[1] == "loihi2\nchip"
    assert ticks[4:] == ["xylo\n2 errors\nchip", "xylo\n2 errors\nptq", "xylo\n2 errors\nqat"]
    hatched = [bool(b.get_hatch()) for b in ax.patches]
    assert hatched == [False] * 4 + [True] * 3  # float + 3 loihi2 bars clean, xylo's hatched
    heights = [b.get_height() for b in ax.patches]
    np.testing.assert_allclose(heights[4], 45.40)
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == "51.5" and labels[4] == "45.4\n-6.1 pp"  # 45.40 - 51.53
    assert ax.get_ylabel() == "test accuracy (%)"


def test_summary_says_1_error_and_2_errors():
    one = "\n".join(chip_summary(_metrics({"loihi2": 1, "xylo": 2}), "loihi2"))
    assert "1 error / 1 warning," in one and "errors" not in one
    two = "\n".join(chip_summary(_metrics({"loihi2": 1, "xylo": 2}), "xylo"))
    assert "2 errors / 1 warning," in two
