"""Offline pictures show what each scene says: the build picks a family per scene by meaning, reports
it (`details.family`), draws clearly different pictures for different families, and sets a scene's key
phrase over its picture as a typographic card when the style asks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import report_statuses, run_cli, write_spec
from PIL import Image

from autostream_compiler.engine.cache import Store
from autostream_compiler.render.card import key_phrase

SCENES = [
    ("Ships crossed the ocean for months.", "a 19th century sailing ship on a dark sea", "sea"),
    ("Then the island exploded.", "an erupting island", "volcano"),
    ("The city glowed that evening.", "a city at sunset", "city"),
    ("Researchers measured every tremor.", "scientists with instruments", "laboratory"),
]


def _spec(cards: bool | None = None) -> dict:
    spec = {
        "version": 1,
        "title": "Families",
        "encoder": "libx264",
        "style": "documentary",
        "format": {"resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 220, "pause": 0.2},
        "transition": {"kind": "cut"},
        "scenes": [{"narration": n, "visual": v} for n, v, _ in SCENES],
    }
    if cards is not None:
        spec["images"] = {"cards": cards}
    return spec


def _pictures(folder, report: dict) -> list[np.ndarray]:
    store = Store(folder / ".autostream" / "cache")
    images = [s for s in report["steps"] if s["kind"] == "image"]
    out = []
    for step in images:
        blob = store.get_action(step["key"])["outputs"]["image"]["digest"]
        out.append(np.asarray(Image.open(store.path(blob)).convert("L"), dtype=np.float32))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("families")
    path = write_spec(folder, _spec())
    result = run_cli("build", path, "--profile", "draft", "--report", folder / "r.json")
    assert result.exit_code == 0, result.stderr
    return path, json.loads((folder / "r.json").read_text())


def test_each_scene_draws_its_family_and_reports_it(built):
    _, report = built
    images = [s for s in report["steps"] if s["kind"] == "image"]
    assert [s["provider"] for s in images] == ["procedural"] * len(SCENES)
    assert [s["details"]["family"] for s in images] == [family for _, _, family in SCENES]


def test_pictures_of_different_families_differ_clearly(built):
    path, report = built
    pictures = _pictures(path.parent, report)
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            assert np.abs(pictures[i] - pictures[j]).mean() > 12, (i, j)  # grey levels of 255


def test_cards_set_the_key_phrase_over_the_picture(built, tmp_path):
    path, report = built
    plain = _pictures(path.parent, report)
    carded = path.parent / "carded.yaml"
    carded.write_text(json.dumps(_spec(cards=True)))
    result = run_cli("build", carded, "--profile", "draft", "--report", path.parent / "cards.json")
    assert result.exit_code == 0, result.stderr
    cards_report = json.loads((path.parent / "cards.json").read_text())
    statuses = report_statuses(path.parent / "cards.json")
    assert all(statuses[("image", i)] == "built" for i in range(len(SCENES)))
    for before, after in zip(plain, _pictures(path.parent, cards_report), strict=True):
        height = before.shape[0]
        bottom = slice(round(height * 0.85), height)  # the captions' rows: untouched
        assert np.array_equal(before[bottom], after[bottom])
        band = slice(round(height * 0.1), round(height * 0.6))
        assert (after[band] > 240).sum() > 3 * (before[band] > 240).sum() + 2000  # white letters


def test_the_key_phrase_is_a_short_clause_of_the_first_sentence():
    assert key_phrase("Deep beneath our feet, the Earth is not solid all the way down.") == "Deep beneath our feet"
    assert key_phrase("Where tectonic plates pull apart or dive beneath each other, that hot rock melts.") == (
        "Hot rock melts"
    )
    assert key_phrase("In 1883, Krakatoa exploded with a sound heard 4,800 km away.") == "Krakatoa exploded"
    assert key_phrase("Magma rises.") == "Magma rises" and key_phrase("and so") == "And so"
    assert key_phrase("When the pressure finally wins, gas-rich magma bursts upward through the crust of the") == (
        "The pressure finally wins"
    )
