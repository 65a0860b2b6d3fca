"""Every bad spec gets one clear line with file:line:col, the field path and a fix; exit code 2."""

from __future__ import annotations

import re

import pytest
from helpers import run_cli

from autostream_compiler.errors import SpecError
from autostream_compiler.specfile import load_spec

GOOD = """version: 1
title: Hello
scenes:
  - narration: Hello there.
"""


def _err(tmp_path, text: str, name: str = "v.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value.problems


def test_good_spec_loads(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text(GOOD)
    assert load_spec(path).scenes[0].narration == "Hello there."


def test_unknown_key_names_line_column_and_allowed_keys(tmp_path):
    [line] = _err(tmp_path, GOOD + "  - narration: Two.\n    narratoin: x\n")
    assert re.match(rf"{re.escape(str(tmp_path / 'v.yaml'))}:6:5: scenes\[1\]\.narratoin: unknown key", line)
    assert "allowed here: narration, visual, image" in line


def test_all_errors_are_reported_at_once(tmp_path):
    text = "version: 1\ntitle: X\nformat: {fps: 500, aspect: '4:3'}\npacing: {words_per_minute: 10}\nscript: hi\n"
    problems = _err(tmp_path, text)
    assert len(problems) == 3
    joined = "\n".join(problems)
    assert "format.fps" in joined and "less than or equal to 60" in joined
    assert "format.aspect" in joined and "'16:9'" in joined
    assert "pacing.words_per_minute" in joined


def test_wrong_type(tmp_path):
    [line] = _err(tmp_path, "version: 1\ntitle: X\nscript: hi\nseed: lots\n")
    assert ":4:7: seed:" in line and "integer" in line


def test_unsupported_version(tmp_path):
    [line] = _err(tmp_path, "version: 2\ntitle: X\nscript: hi\n")
    assert ":1:10: version: unsupported spec version 2" in line


def test_script_and_scenes_are_exclusive(tmp_path):
    [line] = _err(tmp_path, GOOD + "script: also this\n")
    assert "exactly one of `topic`, `script` or `scenes` (found `script` and `scenes`)" in line


def test_missing_image_file_and_escape_from_spec_folder(tmp_path):
    text = GOOD + "  - narration: Two.\n    image: nope.png\n  - narration: Three.\n    image: ../outside.png\n"
    (tmp_path.parent / "outside.png").write_bytes(b"x")
    problems = _err(tmp_path, text)
    assert any(":6:12: scenes[1].image: file 'nope.png' not found" in p for p in problems)
    assert any(":8:12: scenes[2].image:" in p and "outside the spec's folder" in p for p in problems)


def test_unknown_style_and_voice(tmp_path):
    problems = _err(tmp_path, GOOD + "style: neon\nvoice: robot\n")
    assert any(":5:8: style: unknown style 'neon'; use one of documentary" in p for p in problems)
    assert any(":6:8: voice: unknown voice 'robot'" in p for p in problems)


def test_invalid_yaml_and_duplicate_keys(tmp_path):
    [line] = _err(tmp_path, "version: 1\ntitle: [unclosed\n")
    assert "invalid YAML" in line
    [line] = _err(tmp_path, GOOD + "title: again\n")
    assert ":5:1: title: duplicate key" in line


def test_cli_exit_code_2_without_traceback_and_debug_shows_one(tmp_path):
    spec = tmp_path / "v.yaml"
    spec.write_text(GOOD + "colour: red\n")
    result = run_cli("build", spec)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "v.yaml:5:1: colour: unknown key 'colour'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "v.lock.yaml").exists() and not (tmp_path / "out").exists()
    with pytest.raises(SpecError):
        run_cli("--debug", "build", spec)


def test_missing_spec_file(tmp_path):
    result = run_cli("build", tmp_path / "absent.yaml")
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_llm_settings_are_checked_with_their_place(tmp_path):
    text = "version: 1\ntopic: Rivers\nllm:\n  provider: gemini\n  temperature: 3\n"
    problems = _err(tmp_path, text)
    assert any(
        p.startswith(f"{tmp_path / 'v.yaml'}:4:13: llm.provider:") and "'groq', 'openai' or 'offline'" in p
        for p in problems
    ), problems
    assert any(":5:16: llm.temperature:" in p for p in problems), problems
