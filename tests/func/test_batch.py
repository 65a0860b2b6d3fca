"""Batch builds through the CLI: a folder of specs in one run over one cache (shared steps run once),
a failing spec that leaves the others built, the several-spec report, and `--changed-since` in a
real git repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import run_cli, two_scene_spec, write_spec
from PIL import Image


def _steps(entry: dict) -> dict[tuple[str, int | None], dict]:
    return {(s["kind"], s["scene"]): s for s in entry["steps"]}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """specs/ with two specs sharing their first scene, one whose picture is broken, one invalid YAML,
    and YAML files that are not specs; built once as a folder."""
    root = tmp_path_factory.mktemp("batch")
    specs = root / "specs"
    first = two_scene_spec()
    write_spec(specs, first, "alpha.yaml")
    second = two_scene_spec()
    second["scenes"][1] = {"narration": "A different ending here.", "visual": "a green field"}
    write_spec(specs / "more", second, "beta.yaml")
    broken = two_scene_spec()
    broken["scenes"][1]["image"] = "broken.png"
    (specs / "more" / "broken.png").write_bytes(b"this is not an image")
    write_spec(specs / "more", broken, "gamma.yaml")
    (specs / "delta.yaml").write_text("version: 1\nscenes: [\n", encoding="utf-8")
    (specs / "look.yaml").write_text("version: 1\nformat: {fps: 24}\n", encoding="utf-8")  # a style, not a spec
    write_spec(specs / "out", first, "stray.yaml")  # inside out/: skipped
    write_spec(specs / ".hidden", first, "hidden.yaml")  # a dot-folder: skipped
    result = run_cli("build", specs, "--cache-dir", root / "cache", "--report", root / "report.json")
    return {"root": root, "specs": specs, "result": result, "report": json.loads((root / "report.json").read_text())}


def test_a_folder_builds_every_spec_and_a_failure_fails_only_its_spec(batch):
    result, specs = batch["result"], batch["specs"]
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith(
        f"error: 2 of 4 specs failed: {specs / 'delta.yaml'}, {specs / 'more' / 'gamma.yaml'}"
    )
    assert "Traceback" not in result.stderr
    # one line per spec as it finishes, with the output or the error
    assert f"{specs / 'alpha.yaml'} -> {specs / 'out' / 'alpha.mp4'} (12 built, 0 cached" in result.stderr
    assert (
        f"{specs / 'more' / 'beta.yaml'} -> {specs / 'more' / 'out' / 'beta.mp4'} (7 built, 5 cached" in result.stderr
    )
    assert f"{specs / 'delta.yaml'}: FAILED" in result.stderr and "invalid YAML" in result.stderr
    assert f"{specs / 'more' / 'gamma.yaml'}: FAILED" in result.stderr
    # the summary table: a row per spec, then the totals
    table = result.stdout.splitlines()
    assert table[0].split()[:5] == ["spec", "status", "built", "cached", "seconds"]
    rows = {line.split()[0]: line.split() for line in table[1:-1]}
    assert rows[str(specs / "alpha.yaml")][1:4] == ["built", "12", "0"]
    assert rows[str(specs / "more" / "beta.yaml")][1:4] == ["built", "7", "5"]
    assert rows[str(specs / "more" / "gamma.yaml")][1] == "failed"
    assert "steps failed; first: image scene 2" in " ".join(rows[str(specs / "more" / "gamma.yaml")])
    assert table[-1] == "4 specs: 2 built, 2 failed"
    assert (specs / "out" / "alpha.mp4").is_file() and (specs / "more" / "out" / "beta.mp4").is_file()
    assert (specs / "more" / "out" / "beta.srt").is_file()
    assert not (specs / "more" / "out" / "gamma.mp4").exists()


def test_folder_discovery_skips_locks_styles_out_and_dot_folders(batch):
    specs = batch["specs"]
    assert (specs / "alpha.lock.yaml").is_file()  # written by the build, never taken for a spec
    found = [entry["spec"] for entry in batch["report"]["specs"]]
    assert found == [str(specs / p) for p in ("alpha.yaml", "delta.yaml", "more/beta.yaml", "more/gamma.yaml")]


def test_a_shared_scene_is_built_once_across_the_batch(batch):
    entries = {Path(e["spec"]).name: e for e in batch["report"]["specs"]}
    alpha, beta = _steps(entries["alpha.yaml"]), _steps(entries["beta.yaml"])
    for kind in ("tts", "align", "image", "segment"):
        assert alpha[(kind, 0)]["key"] == beta[(kind, 0)]["key"]
        assert (alpha[(kind, 0)]["status"], beta[(kind, 0)]["status"]) == ("built", "cached")
        assert beta[(kind, 1)]["status"] == "built"  # its own second scene
    assert beta[("mux", None)]["status"] == "built"


def test_the_report_of_several_specs(batch):
    report, specs = batch["report"], batch["specs"]
    assert set(report) == {"specs", "skipped"} and report["skipped"] == []
    entries = {Path(e["spec"]).name: e for e in report["specs"]}
    assert {k: entries["alpha.yaml"][k] for k in ("spec", "output", "status")} == {
        "spec": str(specs / "alpha.yaml"),
        "output": str(specs / "out" / "alpha.mp4"),
        "status": "built",
    }
    assert len(entries["alpha.yaml"]["steps"]) == 2 * 4 + 4
    assert all(len(s["key"]) == 64 for s in entries["alpha.yaml"]["steps"])
    gamma = entries["gamma.yaml"]
    assert gamma["status"] == "failed" and gamma["error"].startswith("3 of 12 steps failed; first: image scene 2:")
    assert _steps(gamma)[("image", 1)]["status"] == "failed"
    delta = entries["delta.yaml"]
    assert (delta["status"], delta["steps"], delta["output"]) == ("failed", [], None)
    assert "invalid YAML" in delta["error"]


def test_a_second_run_builds_nothing_and_exits_0(batch):
    root, specs = batch["root"], batch["specs"]
    result = run_cli("build", specs / "alpha.yaml", specs / "more" / "beta.yaml", "--cache-dir", root / "cache")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "2 specs: 2 built, 0 failed"
    assert "(0 built, 12 cached" in result.stderr


def test_command_errors_exit_2_with_one_line(batch, tmp_path):
    specs = batch["specs"]
    result = run_cli("build", specs / "alpha.yaml", specs / "more" / "beta.yaml", "-o", tmp_path / "x.mp4")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: -o/--output names one video; with several specs each goes to its spec's `output` "
        "(else out/<stem>.mp4 beside it)"
    ]
    (tmp_path / "empty").mkdir()
    result = run_cli("build", tmp_path / "empty")
    assert result.exit_code == 2 and "no specs in this folder" in result.stderr
    result = run_cli("build", specs, "--changed-since", "main")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: --changed-since: {specs.resolve()} is not inside a git repository; build without it"
    )


# --- --changed-since ---------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


def _picture(path: Path, colour: str) -> None:
    Image.new("RGB", (64, 36), colour).save(path)


def _pictured_spec(narration: str, picture: str) -> dict:
    spec = two_scene_spec()
    spec["scenes"] = [{"narration": narration, "image": picture}]
    return spec


def test_changed_since_builds_only_specs_whose_files_changed(tmp_path):
    repo = tmp_path / "repo"
    specs = repo / "specs"
    specs.mkdir(parents=True)
    _picture(specs / "one.png", "red")
    _picture(specs / "two.png", "blue")
    write_spec(specs, _pictured_spec("The first video.", "one.png"), "one.yaml")
    write_spec(specs, _pictured_spec("The second video.", "two.png"), "two.yaml")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "specs")
    cache = ["--cache-dir", tmp_path / "cache"]

    result = run_cli("build", specs, "--changed-since", "HEAD", *cache)
    assert result.exit_code == 0, result.stderr
    assert f"{specs / 'one.yaml'}: unchanged since HEAD, skipped" in result.stderr
    assert result.stdout.strip() == "nothing changed since HEAD: 2 specs skipped"

    _picture(specs / "two.png", "green")  # an uncommitted change to one spec's picture
    write_spec(specs, _pictured_spec("A third video.", "one.png"), "three.yaml")  # new, untracked
    report = tmp_path / "report.json"
    result = run_cli("build", specs, "--changed-since", "HEAD", "--report", report, *cache)
    assert result.exit_code == 0, result.stderr
    assert f"{specs / 'one.yaml'}: unchanged since HEAD, skipped" in result.stderr
    assert result.stdout.splitlines()[-1] == "2 specs: 2 built, 0 failed; 1 unchanged since HEAD, skipped"
    data = json.loads(report.read_text())
    assert [e["spec"] for e in data["specs"]] == [str(specs / "three.yaml"), str(specs / "two.yaml")]
    assert data["skipped"] == [str(specs / "one.yaml")]
    assert (specs / "out" / "two.mp4").is_file() and not (specs / "out" / "one.mp4").exists()

    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "more")
    result = run_cli("build", specs, "--changed-since", "HEAD~1", *cache)  # committed since the ref
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "2 specs: 2 built, 0 failed; 1 unchanged since HEAD~1, skipped"

    result = run_cli("build", specs, "--changed-since", "no-such-branch", *cache)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: --changed-since no-such-branch: no such commit in ")
