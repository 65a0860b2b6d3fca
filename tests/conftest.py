"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def small_spec() -> dict:
    """A three-scene spec that builds in seconds."""
    return {
        "version": 1,
        "title": "Test video",
        "format": {"aspect": "16:9", "resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 170, "pause": 0.4},
        "scenes": [
            {"narration": "The first scene starts in 1883.", "visual": "a red sunrise"},
            {"narration": "Then the second one costs $5.", "visual": "a quiet harbour"},
            {"narration": "Finally, we end here.", "visual": "a mountain at night"},
        ],
    }
