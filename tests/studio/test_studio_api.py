"""The studio as `gradio_client` scripts see it: draft, edit, build, download, rebuild one scene,
errors, the queue and cancelling."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import ffprobe, start_studio, stop_studio

gradio_client = pytest.importorskip("gradio_client", reason="needs the studio extra (pip install -e '.[test]')")

SCRIPT = (
    "Krakatoa erupted in 1883.\n\nThe sound was heard four thousand kilometres away.\n\n"
    "Ash turned sunsets red around the world."
)


def _statuses(report: str) -> dict[tuple[str, int | None], str]:
    return {(s["kind"], s["scene"]): s["status"] for s in json.loads(report)["steps"]}


def _spec(title: str, narrations: list[str], resolution: str = "720p") -> str:
    scenes = [{"narration": n} for n in narrations]
    return yaml.safe_dump(
        {"version": 1, "title": title, "format": {"resolution": resolution}, "scenes": scenes}, sort_keys=False
    )


def test_draft_edit_build_and_rebuild_one_scene(studio):
    client = studio.client()
    text = client.predict("", SCRIPT, "documentary", api_name="/draft")
    spec = yaml.safe_load(text)
    assert [s["narration"] for s in spec["scenes"]] == [
        "Krakatoa erupted in 1883.",
        "The sound was heard four thousand kilometres away.",
        "Ash turned sunsets red around the world.",
    ]
    assert spec["title"] == "Krakatoa erupted in 1883" and spec["style"] == "documentary"

    # an edit in the scene table lands in the YAML, and it is checked like the CLI checks it
    rows = [[s["narration"], "", "", ""] for s in spec["scenes"]]
    rows[0][3] = "pan_left"
    rows[1][1] = "a shock wave over the sea"
    table = {"headers": ["narration", "visual", "picture", "motion"], "data": rows}
    text, message = client.predict(table, text, "", api_name="/scenes")
    edited = yaml.safe_load(text)
    assert edited["scenes"][0]["motion"] == {"preset": "pan_left"}
    assert edited["scenes"][1]["visual"] == "a shock wave over the sea"
    assert "valid" in message
    table, _ = client.predict(text.replace("pan_left", "zoom_out"), "", api_name="/spec")
    assert table["data"][0][3] == "zoom_out"

    text = text.replace("style: documentary", "style: documentary\nformat: {resolution: 720p}")
    video, report, lock = client.predict(text, api_name="/build")
    probe = ffprobe(Path(video))
    picture = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert (picture["width"], picture["height"]) == (1280, 720)
    assert any(s["codec_type"] == "audio" for s in probe["streams"])
    assert 5 < float(probe["format"]["duration"]) < 20
    assert set(_statuses(report).values()) == {"built"}
    assert "scenes:" in lock and "Krakatoa erupted in 1883." in lock
    folder = studio.workspace / "krakatoa-erupted-in-1883"
    assert (folder / "krakatoa-erupted-in-1883.yaml").read_text().strip() == text.strip()
    assert (folder / "krakatoa-erupted-in-1883.lock.yaml").read_text() == lock
    assert (folder / "out" / "krakatoa-erupted-in-1883.srt").is_file()

    # a one-word edit of scene 2 re-renders scene 2 only
    video, report, _ = client.predict(text.replace("four thousand", "five thousand"), api_name="/build")
    statuses = _statuses(report)
    assert statuses[("segment", 1)] == "built" and statuses[("tts", 1)] == "built"
    assert statuses[("segment", 0)] == statuses[("segment", 2)] == "cached"
    assert [k for k, v in statuses.items() if v == "built" and k[0] in ("tts", "image", "segment")] == [
        ("tts", 1),
        ("segment", 1),
    ]
    jobs = client.predict(api_name="/jobs")
    row = next(r for r in jobs["data"] if r[0] == "krakatoa-erupted-in-1883")
    assert row[2:4] == ["built", "krakatoa-erupted-in-1883.mp4"] and row[4].startswith("20")
    job, reopened, table, note, shown, thumb, files = client.predict("krakatoa-erupted-in-1883", api_name="/open")
    assert job == "krakatoa-erupted-in-1883" and "five thousand" in reopened and note.endswith(": built")
    assert len(table["data"]) == 3 and Path(shown).stat().st_size == Path(video).stat().st_size
    assert sorted(Path(f).name for f in files) == sorted(
        f"krakatoa-erupted-in-1883{s}"
        for s in (".mp4", ".srt", ".vtt", ".words.json", ".yaml", ".lock.yaml", ".report.json")
    )


def test_bad_spec_is_the_cli_line_and_nothing_is_saved(studio):
    client = studio.client()
    bad = "version: 1\ntitle: Broken job\nscenes:\n  - narration: Hi there.\n    visul: a cat\n"
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        client.predict(bad, api_name="/build")
    message = str(caught.value)
    assert "broken-job/broken-job.yaml:5:5: scenes[0].visul: unknown key 'visul'" in message
    assert "Traceback" not in message and str(studio.workspace) not in message
    assert not (studio.workspace / "broken-job").exists()
    with pytest.raises(gradio_client.exceptions.AppError, match="write a topic or paste a script"):
        client.predict("", "", "documentary", api_name="/draft")
    with pytest.raises(gradio_client.exceptions.AppError) as caught:  # a path to any file is never read
        client.predict("", "One line.", "/etc/passwd", api_name="/draft")
    assert "'/etc/passwd' is not a built-in or workspace style" in str(caught.value)
    assert "root:" not in str(caught.value)


def test_workspace_styles_draft_and_keys_are_never_served(studio):
    import httpx

    client = studio.client()
    styles = studio.workspace / "styles"
    styles.mkdir(exist_ok=True)
    (styles / "mine.yaml").write_text(
        subprocess.run(
            [sys.executable, "-m", "autostream_compiler", "styles", "explainer"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    text = client.predict("", "Tides follow the moon.", "../styles/mine.yaml", api_name="/draft")
    assert "style: ../styles/mine.yaml" in text
    (studio.workspace / ".env").write_text("GROQ_API_KEY=gsk_never_served\n")
    served = httpx.get(f"{studio.url}gradio_api/file={studio.workspace / 'styles' / 'mine.yaml'}")
    assert served.status_code == 200  # the workspace's files are served where they are...
    secret = httpx.get(f"{studio.url}gradio_api/file={studio.workspace / '.env'}")
    assert secret.status_code != 200 and "gsk_never_served" not in secret.text  # ...but never the keys
    cache = httpx.get(f"{studio.url}gradio_api/file={studio.workspace / '.cache'}")
    assert cache.status_code != 200


def test_builds_wait_in_order_with_their_position_and_cancel_stops_one(studio):
    first, second = studio.client(), studio.client()
    long_spec = _spec("Long one", [f"This is scene number {n}, and it talks for a while." for n in range(1, 7)])
    running = first.submit(long_spec, api_name="/build")
    _wait(lambda: _steps_done(running) >= 4, "the first build to finish some steps")
    waiting = second.submit(_spec("Short one", ["Just one short scene."]), api_name="/build")
    _wait(lambda: waiting.status().code == gradio_client.utils.Status.IN_QUEUE, "the second build to queue")
    status = waiting.status()
    assert status.rank == 0 and status.queue_size >= 1  # next in line, and told so
    assert "One line." in studio.client().predict("", "One line.", "documentary", api_name="/draft")  # responsive
    build = _build_process(studio, "long-one")
    family = _descendants(build) | {build}
    running.cancel()
    _wait(lambda: _state(studio, "long-one") == "cancelled", "the cancelled build to stop")
    _wait(lambda: not any(Path(f"/proc/{pid}").exists() for pid in family), "its processes to end")
    video, report, _ = waiting.result(timeout=120)  # the queue moves on to the next build
    assert Path(video).is_file() and set(_statuses(report).values()) == {"built"}
    assert not (studio.workspace / "long-one" / "out" / "long-one.mp4").exists()
    # the steps that finished before the cancel are in the cache: a build would take them from there
    status = subprocess.run(
        [sys.executable, "-m", "autostream_compiler", "status", "long-one/long-one.yaml", "--cache-dir", ".cache"],
        cwd=studio.workspace,
        capture_output=True,
        text=True,
    )
    assert status.stdout.count("up to date") >= 2, status.stdout


def _steps_done(job) -> int:
    progress = job.status().progress_data or []
    return int(progress[-1].index or 0) if progress else 0


def _wait(condition, what: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _state(studio, slug: str) -> str | None:
    try:
        return json.loads((studio.workspace / slug / "out" / "studio.json").read_text())["state"]
    except (OSError, ValueError):
        return None


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
            found[int(proc.name)] = (parent, cmdline)
    return found


def _build_process(studio, slug: str) -> int:
    return next(
        pid
        for pid, (parent, cmdline) in _processes().items()
        if parent == studio.process.pid and f"build {slug}/{slug}.yaml" in cmdline
    )


def _descendants(root: int) -> set[int]:
    processes, found, todo = _processes(), set(), [root]
    while todo:
        parent = todo.pop()
        children = {pid for pid, (ppid, _) in processes.items() if ppid == parent}
        found |= children
        todo += children
    return found


def test_a_failed_build_is_its_error_line_and_a_failed_job(studio):
    client = studio.client()
    folder = studio.workspace / "broken-picture" / "pictures"
    folder.mkdir(parents=True)
    (folder / "sea.png").write_text("this is not a picture")
    spec = _spec("Broken picture", ["A calm sea."]).replace(
        "- narration: A calm sea.", "- narration: A calm sea.\n  image: pictures/sea.png"
    )
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        client.predict(spec, api_name="/build")
    message = str(caught.value)
    assert "steps failed; first: image scene 1:" in message and "sea.png" in message
    assert "Traceback" not in message
    row = next(r for r in client.predict(api_name="/jobs")["data"] if r[0] == "broken-picture")
    assert row[2:4] == ["failed", ""] and "image scene 1" in row[5]


def test_form_draft_keeps_music_and_pictures_in_the_job(studio, tmp_path):
    from gradio_client import handle_file
    from PIL import Image

    client = studio.client()
    wav, png = tmp_path / "Bed Music.wav", tmp_path / "quay.png"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=2", str(wav)], check=True)
    Image.new("RGB", (320, 180), "teal").save(png)
    form = ["", "Harbour", "", "Boats leave at dawn.\n\nGulls follow them out.", "explainer", "espeak:en-us"]
    form += ["9:16", "720p", 60, "pop", handle_file(str(wav))]
    job, text, table, message = client.predict(*form, api_name="/draft_form")
    assert job == "harbour" and message.startswith("2 scenes drafted")
    spec = yaml.safe_load(text)
    assert spec["music"] == {"path": "music/bed-music.wav"} and spec["voice"] == "espeak:en-us"
    assert spec["format"] == {"aspect": "9:16", "resolution": "720p"} and spec["captions"] == {"style": "pop"}
    assert (studio.workspace / "harbour" / "music" / "bed-music.wav").is_file()
    job, text, table, message = client.predict(job, text, 2, handle_file(str(png)), api_name="/picture")
    assert yaml.safe_load(text)["scenes"][1]["image"] == "pictures/quay.png"
    assert table["data"][1][2] == "pictures/quay.png" and "valid" in message
    sample = client.predict("espeak:en-us", api_name="/voice_sample")
    assert float(ffprobe(Path(sample))["format"]["duration"]) > 1


def test_a_draft_grounded_in_an_uploaded_pdf_shows_what_each_scene_cites(studio, tmp_path):
    pytest.importorskip("lancedb", reason="needs the docs extra (pip install -e '.[docs]')")
    from gradio_client import handle_file
    from helpers import pages_html, print_pdf

    pages = [("Harbour", ["The harbour opened in 1901 with two piers."]), ("Fleet", ["Forty boats fish here."])]
    pdf = print_pdf(pages_html(pages), tmp_path / "Harbour Report.pdf")
    form = ["", "Harbour facts", "", "The harbour opened in 1901.\n\nForty boats fish here today.", "explainer", ""]
    form += ["16:9", "720p", 60, "line", None, [handle_file(str(pdf))]]
    job, text, table, message = studio.client().predict(*form, api_name="/draft_form")
    assert job == "harbour-facts" and "citing 1 document" in message
    assert yaml.safe_load(text)["sources"] == ["sources/harbour-report.pdf"]
    assert (studio.workspace / job / "sources" / "harbour-report.pdf").is_file()
    assert [row[4] for row in table["data"]] == ["sources/harbour-report.pdf p. 1", "sources/harbour-report.pdf p. 2"]


def test_logins_and_keys_stay_out_of_the_page(tmp_path):
    secret = "gsk_studio_test_secret_value"
    running = start_studio(
        tmp_path / "ws", env={"AUTOSTREAM_STUDIO_AUTH": "ana:pw-one,ben:pw-two", "GROQ_API_KEY": secret}
    )
    try:
        with pytest.raises(Exception) as refused:  # noqa: B017 - gradio_client's refusal differs by version
            running.client().predict("", "One line.", "documentary", api_name="/draft")
        assert "401" in str(refused.value) or "login" in str(refused.value).lower(), refused.value
        client = running.client(auth=("ben", "pw-two"))
        assert "One line." in client.predict("", "One line.", "documentary", api_name="/draft")
        assert secret not in json.dumps(client.config)
    finally:
        stop_studio(running)
    assert secret not in running.process.stderr.read()
