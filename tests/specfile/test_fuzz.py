"""Bad input, fuzzed: mutated specs, styles and locks never crash `status` or `expand`, never write outside
the project, and stay bounded; the bad inputs the fuzzer found each get one clear line with their place."""

from __future__ import annotations

import re
import resource
from datetime import timedelta

import pytest
from fuzz_inputs import Case, alias_bomb, cases, run_case
from hypothesis import HealthCheck, given, settings

from autostream_compiler.specfile.yamlfile import MAX_BYTES

GOOD = "version: 1\ntitle: Hello\nscript: Hello there. This is a test.\n"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_mutated_specs_styles_and_locks():
    before = _peak_mb()

    @settings(
        max_examples=300,
        derandomize=True,  # the same cases on every run, so CI is stable
        database=None,
        deadline=timedelta(seconds=10),  # a hard stop: each command also has HARD_LIMIT (SIGALRM)
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(cases())
    def survives(case: Case):
        outcome = run_case(case)
        assert not outcome.violations, "\n".join(outcome.violations)

    survives()
    assert _peak_mb() - before < 1024, "a fuzzed spec took more than 1 GB"


def _run(spec: str | bytes, style: str | bytes | None = None, command: str = "status"):
    files = [("v.yaml", spec if isinstance(spec, bytes) else spec.encode())]
    if style is not None:
        files.append(("my.yaml", style if isinstance(style, bytes) else style.encode()))
    outcome = run_case(Case(tuple(files), "v.yaml", ("test",)), commands=(command,))
    assert not outcome.violations, outcome.violations
    return outcome


def _lines(tmp_path, spec: str | bytes, style: str | bytes | None = None) -> list[str]:
    """The error lines `autostream status` prints for a spec (and a style my.yaml beside it); exit code 2."""
    from helpers import run_cli

    (tmp_path / "v.yaml").write_bytes(spec if isinstance(spec, bytes) else spec.encode())
    if style is not None:
        (tmp_path / "my.yaml").write_bytes(style if isinstance(style, bytes) else style.encode())
    result = run_cli("status", tmp_path / "v.yaml")
    assert result.exit_code == 2, result.output
    return [line.replace(f"{tmp_path}/", "") for line in result.stderr.splitlines()]


def test_alias_bomb_is_refused_with_one_line(tmp_path):
    """Nine levels of nine aliases (387 million values) are refused, not expanded."""
    outcome = _run(alias_bomb(9, 9) + GOOD)
    assert outcome.exit_codes == {"status": 2}
    [line] = _lines(tmp_path, alias_bomb(9, 9) + GOOD)
    assert re.match(r"v\.yaml:\d+:\d+: a\d[\[\]\d]*: too many YAML nodes after expanding aliases \(more than ", line)
    assert line.endswith("write the values out or use fewer aliases")


def test_merge_bomb_is_refused_with_one_line(tmp_path):
    """`<<` merges of merges multiply like aliases do."""
    [line] = _lines(tmp_path, alias_bomb(9, 9, merge=True) + GOOD)
    assert re.match(r"v\.yaml:\d+:\d+: a\d: too many YAML nodes after expanding aliases \(more than ", line)


def test_an_alias_inside_itself_is_refused(tmp_path):
    [line] = _lines(tmp_path, "loop: &loop [*loop, {k: *loop}]\n" + GOOD)
    assert line.startswith("v.yaml:1:7: loop[0]") and "nested more than 40 levels deep" in line


def test_long_style_string_names_the_field(tmp_path):
    """`style:` set to 200,000 characters was an OSError traceback ("File name too long")."""
    [line] = _lines(tmp_path, GOOD + "style: " + "a" * 200_000 + "\n")
    assert line == "v.yaml:4:8: style: a path of 200,000 characters is too long; use at most 1024"
    [line] = _lines(tmp_path, GOOD + "style: " + "a" * 300 + ".yaml\n")
    assert line == "v.yaml:4:8: style: a file or folder name in this path is longer than 255 bytes; shorten it"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('music: {path: "a\\0.mp3"}\n', "v.yaml:4:15: music.path: a path cannot contain a NUL character"),
        ("align_model: " + "m/" * 600 + "\n", "v.yaml:4:14: align_model: a path of 1,200 characters is too long"),
        ("output: " + "o" * 256 + ".mp4\n", "v.yaml:4:9: output: a file or folder name in this path is longer"),
        ("seed: " + "9" * 5000 + "\n", "v.yaml:4:7: seed: a number of 5,000 digits is too long; change the value"),
        ("seed: " + "9" * 30 + "\n", "v.yaml:4:7: seed: Input should be less than 9223372036854775808 (got 99999"),
        ("thumbnail: .inf\n", "v.yaml:4:12: thumbnail: Input should be a finite number (got inf)"),
        ("voice: " + "v" * 100_000 + "\n", "v.yaml:4:8: voice: String should have at most 200 characters (got 'vvv"),
        ("1: x\n", "v.yaml:4:1: (top level): key '1' is read as int, not text; put it in quotes"),
        ("? [a, b]\n: x\n", "v.yaml:4:3: (top level): a key must be text, not a list or mapping; fix the key"),
        ("x: !!python/object/apply:os.system [true]\n", "v.yaml:4:4: x: YAML tag !!python/object/apply:os.system is"),
        ("seed: !!int abc\n", "v.yaml:4:7: seed: 'abc' is not a valid int; change the value"),
        ("seed: !!binary aGk=\n", "v.yaml:4:7: seed: YAML tag !!binary is not supported here"),
        ("captions: {font: Comic.ttf}\n", "v.yaml:4:18: captions.font: font 'Comic.ttf' is not shipped"),
        ("deep: " + "[" * 5000 + "]" * 5000 + "\n", "v.yaml:4:1006: invalid YAML: exceeded maximum nesting depth"),
        ("title: a\0b\n", "v.yaml:4:9: invalid YAML: character U+0000 is not allowed; remove it"),
        ("title2: \t x\n", "v.yaml:4:1: title2: unknown key 'title2'; remove it"),  # a tab there is fine YAML
        ("ti[tle: x\n", "v.yaml:4:1: ti[tle: unknown key 'ti[tle'; remove it"),  # was an IndexError
        ("speakers: {'a[b]': {voice: 5}}\n", "v.yaml:4:28: speakers.a[b].voice: Input should be a valid string"),
    ],
)
def test_bad_values_get_one_line_with_their_place(tmp_path, extra, expected):
    lines = _lines(tmp_path, GOOD.replace("title: Hello\n", "") + "title: Hello\n" + extra)
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]
    assert len(lines[0]) < 400


def test_whitespace_narration_is_refused_before_expansion(tmp_path):
    """A scene of spaces passed the spec and then failed inside the scene graph with a traceback."""
    [line] = _lines(tmp_path, "version: 1\ntitle: X\nscenes:\n  - narration: hi\n  - narration: ' '\n")
    assert line == "v.yaml:5:5: scenes[1]: `narration` has only spaces; write what the narrator says"


def test_numbers_too_long_to_name_are_read_digit_by_digit(tmp_path):
    """Numbers past num2words' names (OverflowError), past int()'s 4300 digits (ValueError) and a token of
    3000 '#' (RecursionError) were tracebacks from inside the scene graph."""
    from helpers import run_cli

    narration = f"It cost ${'9' * 70}.50, then {'1' + '0' * 5000} and {'#' * 3000}1 and the {'1' + '0' * 40}th."
    (tmp_path / "v.yaml").write_text(f"version: 1\ntitle: X\nscenes:\n  - narration: '{narration}'\n")
    result = run_cli("expand", tmp_path / "v.yaml")
    assert result.exit_code == 0, result.output
    lock = (tmp_path / "v.lock.yaml").read_text()
    assert "nine nine nine" in lock and "one zero zero" in lock and "number number" in lock


def test_file_size_encoding_and_control_characters(tmp_path):
    [line] = _lines(tmp_path, GOOD.encode() + b"title2: \xff\n")
    assert line == "v.yaml:4:9: not UTF-8 text (byte 0xFF); save the file as UTF-8"
    [line] = _lines(tmp_path, GOOD.encode("utf-16"))
    assert line == "v.yaml:1:1: saved as UTF-16; save the file as UTF-8"
    [line] = _lines(tmp_path, GOOD + "topic: " + "x" * MAX_BYTES + "\n")
    assert line == "v.yaml: larger than 4 MB; autostream reads YAML files up to that size"
    [line] = _lines(tmp_path, GOOD + 'voice: "\\e[2J"\n')
    assert line.startswith("v.yaml:4:8: voice: unknown voice '\\x1b[2J'")


def test_dates_are_kept_as_written_and_merge_keys_work(tmp_path):
    from helpers import run_cli

    (tmp_path / "v.yaml").write_text(
        "version: 1\ntitle: 2024-01-01\nscenes:\n"
        "  - &first {narration: Hello there., motion: {preset: pan_left}}\n"
        "  - {<<: *first, narration: The second scene.}\n"
    )
    result = run_cli("expand", tmp_path / "v.yaml")
    assert result.exit_code == 0, result.output
    assert '"2024-01-01", 2 scenes' in result.stdout
    lock = (tmp_path / "v.lock.yaml").read_text()
    assert "narration: The second scene." in lock and lock.count("preset: pan_left") == 2


def test_bad_style_files_name_their_place(tmp_path):
    spec = GOOD + "style: my.yaml\n"
    style = "name: mine\npalette: ['#000000', '#FFFFFF', nope]\nvoice: robot\ncaptions: {font: x.ttf}\n"
    lines = _lines(tmp_path, spec, style)
    assert lines == [
        "my.yaml:2:33: palette[2]: String should match pattern '^#[0-9A-Fa-f]{6}$' (got 'nope'); change the value"
    ]
    style = "name: mine\npalette: ['#000000', '#FFFFFF', '#FF0000']\nvoice: robot\ncaptions: {font: x.ttf}\n"
    lines = _lines(tmp_path, spec, style)
    assert lines[0] == "my.yaml:4:18: captions.font: font 'x.ttf' is not shipped with autostream; use one of " + (
        "BebasNeue-Regular.otf, Inter-Bold.otf, Lato-Black.ttf, LeagueSpartan-Bold.otf, NotoSans-Bold.ttf, "
        "NotoSerif-Bold.ttf"
    )
    assert lines[1].startswith("my.yaml:3:8: voice: unknown voice 'robot'")
