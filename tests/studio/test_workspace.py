"""The studio's workspace rules, without a server: names, uploads, what a spec may point at, and the
command's own errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli
from PIL import Image

from autostream_compiler.errors import SpecError, UserError
from autostream_compiler.studio.builds import Builds
from autostream_compiler.studio.workspace import Workspace, job_slug, safe_filename, slugify

SPEC = "version: 1\ntitle: Harbour at dawn\nscenes:\n  - narration: Boats leave the harbour.\n"


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.create()
    return ws


def test_names_are_sanitised():
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("Ünïcode Title: Part 2!") == "unicode-title-part-2"
    assert slugify("   ") == slugify("///") == "untitled"
    assert job_slug("Styles") == "styles-job"  # the workspace's styles folder is not a job
    assert job_slug(None, "version: 1\ntitle: 'Night: Part 1'\n") == "night-part-1"
    assert len(slugify("word " * 50)) <= 60
    assert safe_filename("../../My Photo (1).PNG", (".png",)) == "my-photo-1.png"
    with pytest.raises(UserError, match=r"'run\.exe': not a \.jpg / \.png file"):
        safe_filename("run.exe", (".jpg", ".png"))


def test_a_crafted_job_name_never_leaves_the_workspace(workspace):
    with pytest.raises(UserError, match="is not a job name"):
        workspace.folder("../outside")
    slug = workspace.save(SPEC, "../../outside")
    assert slug == "outside" and (workspace.root / "outside" / "outside.yaml").is_file()
    assert not (workspace.root.parent / "outside").exists()


def test_a_spec_is_checked_before_it_is_saved(workspace):
    assert workspace.save(SPEC) == "harbour-at-dawn"
    saved = workspace.spec("harbour-at-dawn")
    assert saved.read_text() == SPEC
    with pytest.raises(SpecError) as caught:
        workspace.save(SPEC.replace("narration:", "narrate:"))
    assert caught.value.problems[0].startswith("harbour-at-dawn/harbour-at-dawn.yaml:4:5: scenes[0].")
    assert saved.read_text() == SPEC  # the good spec stays
    with pytest.raises(SpecError, match="outside the spec's folder"):
        workspace.save(SPEC + "    image: ../../secret.png\n")
    outside = workspace.root.parent / "style.yaml"
    outside.write_text("name: x\n")
    with pytest.raises(UserError, match=r"style\.yaml is outside the studio's workspace"):
        workspace.save(SPEC.replace("scenes:", "style: ../../style.yaml\nscenes:"))
    assert not any(p.name.startswith("tmp") for p in workspace.root.rglob("*"))


def test_uploads_are_checked_and_kept_in_the_job(workspace, tmp_path):
    png = tmp_path / "Harbour Photo.PNG"
    Image.new("RGB", (64, 48), "navy").save(png)
    assert workspace.add_picture("harbour", png) == "pictures/harbour-photo.png"
    assert (workspace.root / "harbour" / "pictures" / "harbour-photo.png").read_bytes() == png.read_bytes()

    fake = tmp_path / "fake.png"
    fake.write_text("not a picture at all")
    with pytest.raises(UserError, match="'fake.png': not a picture this studio can read"):
        workspace.add_picture("harbour", fake)
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as f:
        f.truncate(26 * 2**20)
    with pytest.raises(UserError, match="'huge.jpg': 26 MB is too large; upload at most 25 MB"):
        workspace.add_picture("harbour", huge)

    wav = tmp_path / "bed.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=1", str(wav)], check=True
    )
    assert workspace.add_music("harbour", wav) == "music/bed.wav"
    with pytest.raises(UserError, match="'photo.mp3': no audio that ffmpeg can decode"):
        workspace.add_music("harbour", png, name="photo.mp3")


def test_the_command_says_what_is_missing(tmp_path):
    shadow = tmp_path / "shadow" / "gradio"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no gradio here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow.parent), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-m", "autostream_compiler", "studio", "--port", "0", "--workspace", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "error: the studio needs Gradio: pip install 'autostream-compiler[studio]'\n"


def test_a_bad_login_variable_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSTREAM_STUDIO_AUTH", "ana:secret,ben")
    result = run_cli("studio", "--port", "0", "--workspace", tmp_path / "ws")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: AUTOSTREAM_STUDIO_AUTH: each login is user:password (several separated by commas); fix the variable"
    )
    assert "secret" not in result.stderr and not Path(tmp_path / "ws" / ".studio" / "gradio").exists()


def test_only_offered_styles_are_read(workspace):
    with pytest.raises(UserError, match=r"style '/etc/passwd' is not a built-in or workspace style"):
        workspace.check_style("/etc/passwd")
    (workspace.root / "styles" / "mine.yaml").write_text("name: mine\n")
    workspace.check_style("../styles/mine.yaml")
    workspace.check_style("documentary")


def test_a_build_killed_before_its_follower_closes_is_recorded_cancelled(workspace):
    builds = Builds()
    build = builds.start(workspace, SPEC, None, "final")
    follower = build.follow()
    next(follower)
    assert builds.cancel("harbour-at-dawn")
    build.process.wait(timeout=30)
    follower.close()  # the request went away after the kill (the page's Cancel does both)
    builds.end(build)
    assert workspace.state("harbour-at-dawn")["state"] == "cancelled" and not builds.running
    again = builds.start(workspace, SPEC, None, "final")
    try:
        with pytest.raises(UserError, match="harbour-at-dawn is already building; wait for it or cancel it"):
            builds.start(workspace, SPEC.replace("Boats", "Ships"), None, "final")
        assert workspace.spec("harbour-at-dawn").read_text() == SPEC  # the running build's spec stays
    finally:
        builds.end(again)


def test_the_scene_table_shows_and_keeps_a_scenes_clip():
    from autostream_compiler.studio import draft

    spec = {
        "version": 1,
        "scenes": [
            {"narration": "Boats leave.", "video": "clips/boats.mp4", "video_audio": "duck"},
            {"narration": "The sun rises.", "image": {"page": 3}},
        ],
    }
    rows = draft.table(spec)
    assert [row[2] for row in rows] == ["video clips/boats.mp4", "page 3"]
    assert draft.with_table(spec, rows)["scenes"] == spec["scenes"]  # unchanged rows, unchanged scenes
    rows[0][2], rows[1][2] = "pictures/boats.png", "video clips/sun.mp4"
    assert draft.with_table(spec, rows)["scenes"] == [
        {"narration": "Boats leave.", "image": "pictures/boats.png"},
        {"narration": "The sun rises.", "video": "clips/sun.mp4"},
    ]
