"""A real studio process on a free loopback port, driven the way users and scripts drive it."""

from __future__ import annotations

import pytest
from helpers import start_studio, stop_studio


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """One studio for a test module, builds one at a time (`--concurrency 1`)."""
    running = start_studio(tmp_path_factory.mktemp("studio") / "ws", "--concurrency", "1")
    yield running
    stop_studio(running)
