"""Styles: the built-ins differ in look, sound and pacing; a user's own style file; template errors."""

from __future__ import annotations

import re

import pytest
import yaml
from helpers import run_cli, write_spec

SCRIPT = "Rivers carve valleys over millions of years. Water finds the weakest rock and wears it away."


def _graph(tmp_path, style: str) -> dict:
    spec = write_spec(
        tmp_path / style.replace("/", "_").replace(".", "_"),
        {"version": 1, "title": "Rivers", "style": style, "script": SCRIPT},
    )
    result = run_cli("expand", spec)
    assert result.exit_code == 0, result.stderr
    return yaml.safe_load(spec.with_name("video.lock.yaml").read_text())["graph"]


def test_styles_lists_the_built_ins_and_prints_one():
    result = run_cli("styles")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["documentary", "explainer", "shorts", "story"]
    assert "9:16" in next(line for line in result.stdout.splitlines() if line.startswith("shorts"))
    shown = run_cli("styles", "story")
    assert yaml.safe_load(shown.stdout)["name"] == "story" and "prompts" in yaml.safe_load(shown.stdout)


def test_built_in_styles_differ_in_look_sound_and_pacing(tmp_path):
    graphs = {name: _graph(tmp_path, name) for name in ("documentary", "explainer", "shorts", "story")}
    looks = {
        name: (
            g["format"]["aspect"],
            g["format"]["fps"],
            g["pacing"]["words_per_minute"],
            g["pacing"]["pause"],
            tuple(g["palette"]),
            g["captions"]["highlight"],
            g["captions"]["size"],
            g["motion"]["strength"],
            g["scenes"][0]["image"]["prompt"],
        )
        for name, g in graphs.items()
    }
    for field in range(len(next(iter(looks.values())))):
        values = [look[field] for look in looks.values()]
        assert len(set(values)) >= 2, field
    assert len({g["pacing"]["words_per_minute"] for g in graphs.values()}) == 4  # each sounds different
    assert graphs["shorts"]["format"] == {"aspect": "9:16", "width": 1080, "height": 1920, "fps": 30}
    assert len({tuple(look) for look in looks.values()}) == 4


def test_a_users_own_style_file_by_path(tmp_path):
    style = yaml.safe_load(run_cli("styles", "explainer").stdout)
    style.update(
        name="mine",
        palette=["#000000", "#222222", "#444444"],
        image_prompt="{{ visual }} in pencil, titled {{ title }}",
    )
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "house.yaml").write_text(yaml.safe_dump(style))
    spec = write_spec(tmp_path / "mine", {"version": 1, "title": "Rivers", "style": "house.yaml", "script": SCRIPT})
    assert run_cli("expand", spec).exit_code == 0
    graph = yaml.safe_load(spec.with_name("video.lock.yaml").read_text())["graph"]
    assert graph["palette"] == ["#000000", "#222222", "#444444"]
    assert graph["scenes"][0]["image"]["prompt"] == f"{SCRIPT} in pencil, titled Rivers"


def test_styles_rejects_anything_but_a_built_in_name():
    result = run_cli("styles", "../../etc/passwd")
    assert result.exit_code == 2 and "no built-in style" in result.stderr and "documentary" in result.stderr


def test_template_errors_name_the_style_file_and_template(tmp_path):
    style = yaml.safe_load(run_cli("styles", "documentary").stdout)
    style["prompts"]["user"] = "Write about {{ topic"
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(style))
    spec = write_spec(tmp_path, {"version": 1, "title": "T", "style": "broken.yaml", "script": SCRIPT})
    result = run_cli("build", spec)
    assert result.exit_code == 2
    where = re.escape(str(tmp_path / "broken.yaml"))
    assert re.search(rf"{where}:\d+:\d+: prompts.user: invalid template", result.stderr)

    style["prompts"]["user"] = "Hi"
    style["image_prompt"] = "{{ visual }} by {{ artist }}"
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(style))
    result = run_cli("build", spec)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert f"{tmp_path / 'broken.yaml'}: image_prompt: template failed ('artist' is undefined)" in line
    assert "narration, title, visual" in line and "Traceback" not in result.output


def test_templates_cannot_reach_python_internals(tmp_path):
    style = yaml.safe_load(run_cli("styles", "documentary").stdout)
    style["image_prompt"] = "{{ visual.__class__.__mro__[1].__subclasses__() }}"
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(style))
    spec = write_spec(tmp_path, {"version": 1, "title": "T", "style": "evil.yaml", "script": SCRIPT})
    result = run_cli("expand", spec)
    assert result.exit_code == 2 and "image_prompt: template failed" in result.stderr

    style["image_prompt"] = "{{ visual }} {{ 1 / 0 }}"
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(style))
    result = run_cli("expand", spec)
    assert result.exit_code == 2 and "division by zero" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "bomb, why",
    [
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ visual }}", "steps"),
        ("{% for i in range(100000) %}{{ visual }}{% endfor %}", "characters"),
        ("{{ visual * 100000000 }}", "too large"),
        ("{{ 10 ** 100000000 }}", "too large"),
    ],
)
def test_templates_are_bounded_in_work_and_size(tmp_path, bomb, why):
    style = yaml.safe_load(run_cli("styles", "documentary").stdout)
    style["image_prompt"] = bomb
    (tmp_path / "bomb.yaml").write_text(yaml.safe_dump(style))
    spec = write_spec(tmp_path, {"version": 1, "title": "T", "style": "bomb.yaml", "script": SCRIPT})
    for command in ("expand", "status"):
        result = run_cli(command, spec)
        assert result.exit_code == 2 and "image_prompt: template failed" in result.stderr, result.stderr
        assert why in result.stderr and "Traceback" not in result.output
