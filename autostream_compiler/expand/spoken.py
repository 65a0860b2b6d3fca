"""Written text to spoken words: numbers, years, money, percentages, units and symbols spelled out.

Each displayed word keeps the spoken words it became, so a subtitle word can span all of their
time ("1883" is shown while "eighteen eighty-three" is spoken).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from num2words import num2words


class Word(NamedTuple):
    """A word as displayed and the words a narrator says for it (space-separated)."""

    text: str
    spoken: str


_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_UNITS = {
    "km": ("kilometer", "kilometers"),
    "m": ("meter", "meters"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "t": ("ton", "tons"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "in": ("inch", "inches"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "°c": ("degree Celsius", "degrees Celsius"),
    "°f": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "l": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"),
    "kb": ("kilobyte", "kilobytes"),
    "mb": ("megabyte", "megabytes"),
    "gb": ("gigabyte", "gigabytes"),
    "tb": ("terabyte", "terabytes"),
    "w": ("watt", "watts"),
    "kw": ("kilowatt", "kilowatts"),
    "mw": ("megawatt", "megawatts"),
    "hz": ("hertz", "hertz"),
    "khz": ("kilohertz", "kilohertz"),
    "v": ("volt", "volts"),
}
# Units that are also ordinary words are only read as units right after a number ("5 m"), never alone.
_ABBREVIATIONS = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "dr.": "Doctor",
    "mr.": "Mister",
    "mrs.": "Missus",
    "ms.": "Miz",
    "approx.": "approximately",
    "no.": "number",
    "st.": "Saint",
    "mt.": "Mount",
    "jr.": "Junior",
    "sr.": "Senior",
}
_SYMBOLS = {"&": "and", "+": "plus", "=": "equals", "@": "at", "%": "percent", "#": "number", "×": "times"}
_SCALES = {"thousand", "million", "billion", "trillion"}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_RE_MONEY = re.compile(rf"^([$€£¥])({_NUM})$")
_RE_PERCENT = re.compile(rf"^({_NUM})%$")
_RE_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$", re.I)
_RE_YEAR = re.compile(r"^(1[1-9]\d\d|20\d\d)(s?)$")
_RE_NUMBER = re.compile(rf"^([-−]?)({_NUM})$")
_RE_NUM_UNIT = re.compile(rf"^({_NUM})({'|'.join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))})$", re.I)
_RE_RANGE = re.compile(rf"^({_NUM})[-–—]({_NUM})$")
_RE_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_LEAD = "\"'“‘([{«¿¡"
_TRAIL = "\"'”’)]}»"
_PUNCT = ".,!?;:…"


def to_words(text: str) -> list[Word]:
    """Split display text into words, each with its spoken form."""
    tokens = _tokens(text)
    words: list[Word] = []
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        words.append(Word(token, _speak_token(token, prev, nxt)))
    return words


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for raw in text.split():
        if tokens and not any(c.isalnum() for c in raw) and raw not in _SYMBOLS:
            tokens[-1] += " " + raw  # a lone dash or ellipsis belongs to the word before it
        else:
            tokens.append(raw)
    return tokens


def _split(token: str) -> tuple[str, str, str]:
    core = token.lstrip(_LEAD)
    lead = token[: len(token) - len(core)]
    end = len(core)
    while end and core[end - 1] in _TRAIL + _PUNCT + "—–- ":
        end -= 1
    return lead, core[:end], core[end:]


def _speak_token(token: str, prev: str, nxt: str) -> str:
    if token.lower() in _ABBREVIATIONS:
        return _ABBREVIATIONS[token.lower()]
    _, core, trail = _split(token)
    punct = "".join(c for c in trail.replace("—", ",").replace("–", ",") if c in _PUNCT)[:1]
    lower = core.lower()
    if lower in _ABBREVIATIONS or (lower + ".") in _ABBREVIATIONS and trail.startswith("."):
        return _ABBREVIATIONS.get(lower) or _ABBREVIATIONS[lower + "."]
    _, prev_core, _ = _split(prev)
    _, next_core, _ = _split(nxt)
    spoken = _speak_core(core, prev_core, next_core.lower())
    return (spoken + punct) if spoken else punct.strip(",;:")


def _number(s: str) -> str:
    s = s.replace(",", "")
    if "." in s:
        whole, frac = s.split(".")
        return _cardinal(whole) + " point " + " ".join(_n(int(d)) for d in frac)
    return _cardinal(s)


_NAMED_DIGITS = 27  # longer numbers are read digit by digit (num2words gives up at 67 digits, a listener sooner)


def _cardinal(digits: str) -> str:
    """A run of digits in words: its name, or digit by digit when it is too long to have one."""
    if len(digits.lstrip("0")) > _NAMED_DIGITS:
        return " ".join(_n(int(d)) for d in digits)
    return _n(int(digits))


def _n(value: int) -> str:
    return num2words(value).replace(",", "")


def _is_one(s: str) -> bool:
    return s.replace(",", "") in ("1", "1.0")


def _speak_core(core: str, prev: str, nxt: str) -> str:
    if not core:
        return ""
    if core in _SYMBOLS:
        return _SYMBOLS[core]
    if m := _RE_MONEY.match(core):
        one, many, sub_one, sub_many = _CURRENCIES[m.group(1)]
        amount = m.group(2).replace(",", "")
        whole, _, cents = amount.partition(".")
        if nxt in _SCALES:  # "$5 million": the scale word says the currency
            return _number(amount)
        out = f"{_cardinal(whole)} {one if whole == '1' else many}"
        if cents.strip("0"):
            c = int((cents + "0")[:2])
            out += f" and {_n(c)} {sub_one if c == 1 else sub_many}"
        return out
    if core.lower() in _SCALES and prev and (m := _RE_MONEY.match(prev)):
        return f"{core} {_CURRENCIES[m.group(1)][1]}"
    if m := _RE_PERCENT.match(core):
        return _number(m.group(1)) + " percent"
    if m := _RE_ORDINAL.match(core):
        digits = m.group(1)
        return num2words(int(digits), to="ordinal") if len(digits) <= _NAMED_DIGITS else _cardinal(digits)
    if m := _RE_YEAR.match(core):
        year = num2words(int(m.group(1)), to="year")
        if m.group(2):
            year = year[:-1] + "ies" if year.endswith("y") else year + "s"
        return year
    if m := _RE_NUMBER.match(core):
        return ("minus " if m.group(1) else "") + _number(m.group(2))
    if m := _RE_NUM_UNIT.match(core):
        one, many = _UNITS[m.group(2).lower()]
        return f"{_number(m.group(1))} {one if _is_one(m.group(1)) else many}"
    if m := _RE_RANGE.match(core):
        a, b = m.groups()
        if _RE_YEAR.match(a) and _RE_YEAR.match(b):
            return f"{_speak_core(a, '', '')} to {_speak_core(b, '', '')}"
        return f"{_number(a)} to {_number(b)}"
    if core.lower() in _UNITS and prev and _RE_NUMBER.match(prev):
        one, many = _UNITS[core.lower()]
        return one if _is_one(prev) else many
    if core[0] in _SYMBOLS and len(core) > 1:  # "#1", "+5", "##"
        rest = core.lstrip("".join(_SYMBOLS))
        said = [_SYMBOLS[c] for c in core[: len(core) - len(rest)]]
        return " ".join(said + ([_speak_core(rest, "", nxt)] if rest else []))
    if any(c.isdigit() for c in core):  # "CO2", "MP3", "3D"
        return " ".join(_RE_DIGITS.sub(lambda d: f" {_number(d.group())} ", core).split())
    return core


def spoken_text(words: list[Word]) -> str:
    """The text a TTS engine is given for a list of words."""
    return " ".join(w.spoken for w in words if w.spoken)
