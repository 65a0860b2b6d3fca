"""espeak-ng provider: the real engine through ctypes, offline."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from autostream_compiler.errors import BuildError
from autostream_compiler.providers import espeak_tts
from autostream_compiler.providers.espeak_tts import SAMPLE_RATE, synthesize, voices

SENTENCE = "Hello there, my friend. This is a short test, and it ends here.".split()


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def assert_well_formed(speech, entries: list[str]) -> None:
    duration = len(speech.samples) / speech.sample_rate
    assert len(speech.timings) == len(entries)
    previous_end = 0.0
    for start, end in speech.timings:
        assert previous_end <= start <= end
        previous_end = end
    assert previous_end <= duration


def test_voices_lists_many_languages():
    assert espeak_tts.NAME == "espeak"
    found = voices()
    assert list(found) == sorted(found)
    assert {"en-us", "en-gb", "de", "fr", "es", "it"} <= set(found)
    assert len(found) > 50


def test_english_sentence():
    speech = synthesize(SENTENCE, "en-us", 160)
    assert speech.samples.dtype == np.int16
    assert speech.sample_rate == SAMPLE_RATE == 22050
    duration = len(speech.samples) / SAMPLE_RATE
    expected = len(SENTENCE) / 160 * 60
    assert 0.6 * expected < duration < 1.5 * expected
    assert_well_formed(speech, SENTENCE)
    assert all(end - start > 0.03 for start, end in speech.timings)


def test_faster_rate_gives_shorter_audio():
    slow = synthesize(SENTENCE, "en-us", 120)
    fast = synthesize(SENTENCE, "en-us", 240)
    assert len(fast.samples) < 0.7 * len(slow.samples)


def test_timings_agree_with_the_audio():
    speech = synthesize(SENTENCE, "en-us", 160)
    spoken = np.zeros(len(speech.samples), dtype=bool)
    for start, end in speech.timings:
        spoken[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)] = True
    gaps = speech.samples[~spoken]
    assert len(gaps) > 0.2 * SAMPLE_RATE  # the pauses at the comma and full stops
    assert rms(speech.samples[spoken]) > 20 * max(rms(gaps), 1.0)
    for start, end in speech.timings:
        assert rms(speech.samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]) > 300


def test_empty_entry_gets_a_zero_length_span_between_its_neighbours():
    entries = ["Hello", "", "world."]
    speech = synthesize(entries, "en-us", 160)
    assert_well_formed(speech, entries)
    (_, hello_end), (start, end), (world_start, _) = speech.timings
    assert start == end and hello_end <= start <= world_start


def test_entry_of_several_spoken_words_spans_all_of_them():
    merged = ["In", "eighteen eighty-three.", "it", "erupted."]
    split = ["In", "eighteen", "eighty-three.", "it", "erupted."]
    one, apart = synthesize(merged, "en-us", 160), synthesize(split, "en-us", 160)
    assert np.array_equal(one.samples, apart.samples)  # the same text is spoken
    assert one.timings[1] == (apart.timings[1][0], apart.timings[2][1])
    assert one.timings[2:] == apart.timings[3:]


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("fr", "Noël à côté du café, où l'été était déjà très chaud à Orléans."),
        ("de", "Über die Brücke gehen wir, schön müde, zur Straße am Fluss."),
    ],
)
def test_accented_words_keep_their_timings(voice: str, text: str):
    entries = text.split()
    speech = synthesize(entries, voice, 160)
    assert_well_formed(speech, entries)
    for start, end in speech.timings:  # every word found its own event: none squeezed or shifted
        assert end - start > 0.05
        assert rms(speech.samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]) > 300


def test_unknown_voice_is_a_one_line_build_error():
    with pytest.raises(BuildError) as raised:
        synthesize(["Hello"], "xx-klingon", 160)
    message = str(raised.value)
    assert "\n" not in message
    assert "'xx-klingon'" in message and "autostream voices" in message


def test_same_input_gives_same_samples():
    first = synthesize(SENTENCE, "en-us", 160)
    synthesize(["Guten", "Tag."], "de", 300)  # other voice and rate in between
    second = synthesize(SENTENCE, "en-us", 160)
    assert np.array_equal(first.samples, second.samples)
    assert first.timings == second.timings


def test_concurrent_calls_match_serial_ones():
    jobs = [(SENTENCE, "en-us", 160), (["Bonjour", "à", "tous."], "fr", 200)] * 4
    serial = [synthesize(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda job: synthesize(*job), jobs))
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.samples, b.samples) and a.timings == b.timings
