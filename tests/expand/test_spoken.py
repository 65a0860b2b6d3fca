"""Spoken text writes out what a narrator says; display text stays as written."""

import pytest

from autostream_compiler.expand.spoken import spoken_text, to_words


@pytest.mark.parametrize(
    "written, spoken",
    [
        ("1883", "eighteen eighty-three"),
        ("2024.", "twenty twenty-four."),
        ("1990s", "nineteen nineties"),
        ("$5.50", "five dollars and fifty cents"),
        ("$1", "one dollar"),
        ("£3", "three pounds"),
        ("45%", "forty-five percent"),
        ("3.5", "three point five"),
        ("1,234", "one thousand two hundred and thirty-four"),
        ("-5", "minus five"),
        ("21st", "twenty-first"),
        ("10km", "ten kilometers"),
        ("&", "and"),
        ("#1", "number one"),
        ("e.g.", "for example"),
        ("Dr.", "Doctor"),
        ("CO2", "CO two"),
        ("1883–1885", "eighteen eighty-three to eighteen eighty-five"),
        ("hello,", "hello,"),
    ],
)
def test_single_words(written, spoken):
    [word] = to_words(written)
    assert word.text == written
    assert word.spoken == spoken


def test_units_and_scales_read_with_their_number():
    words = to_words("It is 1 km away and cost $2 million.")
    assert [w.spoken for w in words] == [
        "It",
        "is",
        "one",
        "kilometer",
        "away",
        "and",
        "cost",
        "two",
        "million dollars.",
    ]


def test_a_lone_dash_joins_the_word_before_and_becomes_a_pause():
    words = to_words("Krakatoa erupted — loudly")
    assert [w.text for w in words] == ["Krakatoa", "erupted —", "loudly"]
    assert words[1].spoken == "erupted,"


def test_one_entry_per_displayed_word():
    text = "In 1883, Krakatoa's blast reached 310 km at 45% power!"
    words = to_words(text)
    assert " ".join(w.text for w in words) == text
    assert spoken_text(words) == (
        "In eighteen eighty-three, Krakatoa's blast reached three hundred and ten kilometers "
        "at forty-five percent power!"
    )
