"""Offline pictures draw what the scene says: the family is chosen by meaning (wordllama), the
narration breaks near ties, and a keyword table decides when wordllama is missing."""

from __future__ import annotations

import pytest

from autostream_compiler.providers import families, scenery

VISUALS = [  # what a scene shows -> the family that draws it
    ("a 19th century sailing ship on a dark sea", "sea"),
    ("a ship at sea", "sea"),
    ("waves crashing against a lighthouse on the cliffs", "coast"),
    ("a blood red sunset over a city skyline", "city"),
    ("a city at sunset", "city"),
    ("the full moon rising over quiet hills at night", "night"),
    ("Saturn and its rings drifting through space", "space"),
    ("an erupting island", "volcano"),
    ("a volcanic eruption at dusk with ash clouds", "volcano"),
    ("a misty pine forest at dawn", "forest"),
    ("endless sand dunes under a blazing sun", "desert"),
    ("snow-capped peaks above a valley", "mountains"),
    ("scientists with instruments", "laboratory"),
    ("glass flasks and test tubes on a lab bench", "laboratory"),
    ("dark thunderclouds with lightning and heavy rain", "weather"),
    ("an old map of Europe with trade routes", "maps"),
    ("a bar chart of rising global temperatures", "charts"),
]


MORE_VISUALS = [  # other phrasings: a meaning model gets most, not necessarily all
    ("a lighthouse on a rocky shore", "coast"), ("a Viking longship in a storm", "sea"),
    ("the night sky full of stars", "night"), ("a rocket launching into orbit", "space"),
    ("a hurricane seen from above", "weather"), ("a globe spinning slowly", "maps"),
    ("a graph showing population growth", "charts"), ("a tropical rainforest", "forest"),
    ("the Sahara desert at noon", "desert"), ("the Himalayas at sunrise", "mountains"),
    ("a chemist mixing chemicals in a lab", "laboratory"), ("the New York skyline", "city"),
    ("lava flowing into the ocean", "volcano"), ("a tsunami wave hitting the shore", "coast"),
    ("a medieval town square", "city"), ("an astronaut floating above Earth", "space"),
    ("a pie chart of energy sources", "charts"), ("a pirate ship on the high seas", "sea"),
    ("a crescent moon over a lake", "night"), ("a scientist looking through a microscope", "laboratory"),
    ("an oasis in the dunes", "desert"), ("a glacier in the Alps", "mountains"),
    ("a stormy sky over the plains", "weather"), ("an island volcano spewing smoke", "volcano"),
    ("a medieval map with sea monsters", "maps"), ("camels crossing the sand", "desert"),
    ("white cliffs above a pebble beach", "coast"), ("skyscrapers reflected in a river at dusk", "city"),
    ("autumn leaves in an old oak wood", "forest"), ("beakers bubbling on a workbench", "laboratory"),
    ("a line graph of rising temperatures since 1900", "charts"), ("molten rock glowing red", "volcano"),
]  # fmt: skip


def test_other_phrasings_mostly_find_their_family():
    chosen = families.choose_all([(visual, "") for visual, _ in MORE_VISUALS])
    wrong = [(v, f, c) for (v, f), c in zip(MORE_VISUALS, chosen, strict=True) if c != f]
    assert len(wrong) <= len(MORE_VISUALS) // 10, wrong


def test_every_family_has_descriptions_and_keywords():
    assert set(families.DESCRIPTIONS) == set(families.KEYWORDS) == set(scenery.FAMILIES)
    assert len(scenery.FAMILIES) >= 12 and all(name.isalpha() and name.islower() for name in scenery.FAMILIES)


@pytest.mark.parametrize(("visual", "family"), VISUALS)
def test_a_visual_maps_to_its_family(visual, family):
    assert families.choose(visual) == family


def test_one_call_chooses_for_many_scenes_the_same_way_every_time():
    scenes = [(visual, "") for visual, _ in VISUALS]
    chosen = families.choose_all(scenes)
    assert chosen == [family for _, family in VISUALS]
    assert families.choose_all(scenes) == chosen and families.choose_all([]) == []


def test_the_narration_breaks_a_near_tie_and_only_then():
    vague = "a long time ago"  # about as near to several families
    assert families.choose(vague, "The volcano erupted, burying the town in lava and ash.") == "volcano"
    assert families.choose(vague, "Ships sailed across the open ocean for months.") == "sea"
    clear = "a ship at sea"
    assert families.choose(clear, "The volcano erupted, burying the town in lava and ash.") == "sea"


def test_without_wordllama_the_keyword_table_decides(monkeypatch):
    monkeypatch.setattr(families, "_model", lambda: None)
    chosen = families.choose_all([(visual, "") for visual, _ in VISUALS])
    right = sum(c == f for c, (_, f) in zip(chosen, VISUALS, strict=True))
    assert right >= len(VISUALS) - 3  # a keyword table is a fallback, not as good as meaning
    assert families.choose("a quiet moment", "Lava poured from the crater.") == "volcano"  # the narration's words
    assert families.choose("a quiet moment", "") == families.DEFAULT
