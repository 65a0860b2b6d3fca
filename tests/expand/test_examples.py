"""The example specs ship with current locks, so they build with no model and no key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import run_cli

EXAMPLES = sorted((Path(__file__).parents[2] / "specs" / "examples").glob("*.yaml"))
SPECS = [p for p in EXAMPLES if not p.name.endswith(".lock.yaml")]


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_every_example_has_a_current_lock(spec, monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    result = run_cli("lock", "--check", spec)
    assert result.exit_code == 0, result.output


def test_the_topic_example_says_how_its_scenes_were_written(monkeypatch, tmp_path):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    spec = next(p for p in SPECS if yaml.safe_load(p.read_text()).get("topic"))
    lock = yaml.safe_load(spec.with_name(f"{spec.stem}.lock.yaml").read_text())
    assert lock["expansion"]["provider"] == "answer-file"
    assert (spec.parent / lock["expansion"]["source"]).is_file()
    result = run_cli("status", spec, "--cache-dir", tmp_path)  # resolves from the lock: no model, no key
    assert result.exit_code == 0 and "steps would run" in result.stdout
