"""phyll-drift end to end on a tiny config: the trained PhyLL network on the perturbed device is
saved and reloads to the run's own final accuracy."""

from __future__ import annotations

import json

from neuromorph import experiments
from neuromorph.data.digits import sklearn_digits
from neuromorph.data.vowels import split_data
from neuromorph.experiments.phyll_common import Task
from neuromorph.learning_rules.phyll import PhyLL
from neuromorph.models import load_model


def test_phyll_drift_saves_the_network_on_the_perturbed_device(tmp_path) -> None:
    sets = {"epochs": "6", "perturb_at": "3", "eval_every": "1", "width": "74"}
    out = experiments.run("phyll-drift", sets, tmp_path / "run", progress=False)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["phyll_final_accuracy"] > 0.3  # learns in 6 epochs (chance 0.1)
    net, info = load_model(out)
    assert info["experiment"] == "phyll-drift" and info["perturbed_at_epoch"] == 3
    split = split_data(sklearn_digits(), 0.2, 0)
    task = Task.from_arrays(split.x_train, split.y_train, split.x_test, split.y_test, 10, 74)
    rule = PhyLL(net, 4.0, 10, seed=0)
    # the device's perturbed constants come back with the state: the run's final accuracy
    assert rule.accuracy(task.x_test, task.y_test) == metrics["phyll_final_accuracy"]
