"""Which scene family an offline picture draws: chosen by meaning, offline.

A scene's visual is embedded with wordllama (its 256-d weights ship inside the wheel) and compared
with a few descriptions of each family; the family of the nearest description wins. When the best
two families are about as near, the narration's nearness is added and decides. Without wordllama a keyword
table decides. Deterministic: the same texts give the same family on every machine.
"""

from __future__ import annotations

import re
import threading
from functools import cache

import numpy as np

from autostream_compiler.providers.scenery import FAMILIES

DEFAULT = "mountains"
TIE = 0.04  # the best two families nearer than this in cosine similarity: the narration breaks the tie
DESCRIPTIONS = {
    "sea": (
        "a sailing ship on the open sea",
        "a boat on ocean waves far from land",
        "a fleet of ships, sailors and a voyage across the ocean",
        "a navy warship at sea",
        "a Viking ship or a galleon tossed on stormy waves",
    ),
    "coast": (
        "waves breaking on a rocky shore",
        "a lighthouse on the cliffs by the coast",
        "a sandy beach and the surf",
        "a harbour, a bay and the coastline",
    ),
    "city": (
        "a city skyline of towers at sunset",
        "skyscrapers and towers of a modern city",
        "old town rooftops, domes and church spires",
        "streets and buildings of a busy town",
        "a famous city such as Tokyo, Paris, London or New York",
    ),
    "night": (
        "the moon and stars in the night sky",
        "a dark landscape under the moonlight",
        "a starry night",
    ),
    "space": (
        "planets and moons in outer space",
        "a galaxy, a nebula and distant stars",
        "a rocket, a spacecraft and astronauts in orbit",
        "the solar system and the sun",
    ),
    "volcano": (
        "a volcano erupting with lava and ash",
        "an erupting volcanic island",
        "molten magma and lava flowing from a crater",
        "an explosion of fire, smoke and ash",
    ),
    "forest": (
        "a forest of tall trees",
        "sunlight through the trees of a misty woodland",
        "a jungle and its wildlife",
        "plants, leaves and green nature",
        "a tropical rainforest",
    ),
    "desert": (
        "sand dunes in a hot desert",
        "a dry desert under a blazing sun",
        "ancient pyramids in the sand",
        "camels and a caravan crossing the sand",
        "red rock canyons and mesas in a dry land",
    ),
    "mountains": (
        "snowy mountain peaks and valleys",
        "a mountain range at dawn",
        "hills, rock and a rugged landscape",
        "glaciers and summits of the Alps or the Himalayas",
    ),
    "laboratory": (
        "scientists with instruments in a laboratory",
        "glass flasks and test tubes on a lab bench",
        "a microscope, an experiment and research",
        "engineers and a machine in a workshop",
    ),
    "weather": (
        "storm clouds, rain and lightning",
        "clouds drifting across the sky",
        "a hurricane, wind and a thunderstorm",
        "snow, fog and the weather",
    ),
    "maps": (
        "a globe of the earth with continents",
        "an old map with routes between countries",
        "the world map and its nations",
        "a journey across the continents",
    ),
    "charts": (
        "a chart of numbers and statistics",
        "bar charts and graphs of data rising",
        "percentages, growth and a financial report",
        "a table of figures and measurements",
    ),
}
KEYWORDS = {  # the fallback without wordllama: word stems that point at a family
    "sea": ("ship", "sail", "sailing", "boat", "ocean", "sea", "navy", "voyage", "fleet", "sailor"),
    "coast": ("coast", "shore", "beach", "lighthouse", "cliff", "harbo", "bay", "surf", "wave"),
    "city": ("city", "cities", "skyline", "town", "street", "building", "skyscraper", "tower", "urban"),
    "night": ("night", "moon", "moonlight", "star", "dark"),
    "space": ("space", "planet", "galax", "nebula", "orbit", "rocket", "astronaut", "solar", "cosmos"),
    "volcano": ("volcan", "lava", "magma", "erupt", "eruption", "crater", "ash", "fire", "tectonic"),
    "forest": ("forest", "tree", "wood", "woodland", "jungle", "leaf", "leaves", "plant", "nature"),
    "desert": ("desert", "dune", "sand", "sandy", "pyramid", "drought", "arid"),
    "mountains": ("mountain", "peak", "valley", "hill", "rock", "landscape", "alp"),
    "laboratory": ("lab", "scien", "experiment", "microscope", "instrument", "research", "flask", "chemi"),
    "weather": ("storm", "cloud", "rain", "rainy", "lightning", "weather", "wind", "hurricane", "snow", "snowy", "fog"),
    "maps": ("map", "globe", "world", "continent", "country", "countries", "nation", "route", "border"),
    "charts": ("chart", "graph", "data", "statistic", "percent", "number", "figure", "growth", "economy"),
}


def choose(visual: str, narration: str = "") -> str:
    """The family that draws a scene's visual (the narration breaks a near tie)."""
    return choose_all([(visual, narration)])[0]


def choose_all(scenes: list[tuple[str, str]]) -> list[str]:
    """The family of each (visual, narration), with one model load and one embedding call."""
    if not scenes:
        return []
    _loading().join()
    model = _model()
    if model is None:
        return [by_keywords(visual, narration) for visual, narration in scenes]
    names, table = _descriptions()
    vectors = _embed(model, [text for scene in scenes for text in scene])
    near = vectors @ table.T  # cosine similarity of each text to each description
    families = []
    for k in range(len(scenes)):
        by_visual, by_narration = _by_family(near[2 * k], names), _by_family(near[2 * k + 1], names)
        first, second = np.sort(by_visual)[::-1][:2]
        score = by_visual if first - second >= TIE else by_visual + by_narration
        families.append(FAMILIES[int(np.argmax(score))])
    return families


def by_keywords(visual: str, narration: str = "") -> str:
    """The family whose keywords the visual (then the narration) names most; DEFAULT when none."""
    for text in (visual, narration):
        words = re.findall(r"[a-z]+", text.lower())
        hits = [sum(any(_names(w, stem) for stem in KEYWORDS[f]) for w in words) for f in FAMILIES]
        if max(hits) > 0:
            return FAMILIES[hits.index(max(hits))]
    return DEFAULT


def _names(word: str, stem: str) -> bool:
    """Whether a word is a keyword: a short stem whole or plural (star, stars; not start), a longer
    one as the start of the word (volcan: volcano, volcanic)."""
    return word in (stem, stem + "s", stem + "es") or (len(stem) >= 5 and word.startswith(stem))


def _by_family(similarity: np.ndarray, names: list[str]) -> np.ndarray:
    """The best similarity among each family's descriptions, in FAMILIES order."""
    return np.array([max(s for s, n in zip(similarity, names) if n == f) for f in FAMILIES], dtype=np.float32)


def prefetch() -> None:
    """Start loading the model on a thread of its own, so it is there when the plan asks."""
    _loading()


@cache
def _loading() -> threading.Thread:
    thread = threading.Thread(target=_model, daemon=True)
    thread.start()
    return thread


@cache
def _model():
    """wordllama's model from the weights inside its wheel, or None when it is not installed."""
    try:
        from pathlib import Path

        import wordllama
        from wordllama import WordLlama

        return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    except Exception:  # noqa: BLE001 - not installed, or its weights unreadable: the keywords decide
        return None


@cache
def _descriptions() -> tuple[list[str], np.ndarray]:
    names = [f for f in FAMILIES for _ in DESCRIPTIONS[f]]
    return names, _embed(_model(), [d for f in FAMILIES for d in DESCRIPTIONS[f]])


def _embed(model, texts: list[str]) -> np.ndarray:
    """Unit vectors of the texts (an empty text: a zero vector, near nothing)."""
    vectors = np.asarray(model.embed(texts, norm=False), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
