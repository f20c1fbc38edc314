"""Learning-rule tests run on one torch thread (as the rules matrix does), restored after.

The rules do many small matmuls; on a loaded 2-core machine a thread pool spin-waits.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
