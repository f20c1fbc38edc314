"""Learning-rule tests run on one torch thread (as the rules matrix does), restored after.

The rules do many small matmuls; on a loaded 2-core machine a thread pool spin-waits.
"""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every learning-rule test runs on one thread (the shared ``one_thread`` fixture)."""
    yield
