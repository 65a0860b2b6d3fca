"""The shared cache: S3 (moto's server on 127.0.0.1, through s3fs) or a shared folder. A second machine
with an empty local cache downloads every step instead of rendering; a bad or missing remote blob is
a miss; an unreachable cache is one line and exit 1."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from pathlib import Path

import pytest
from helpers import frame_hashes, run_cli, small_spec, two_scene_spec, write_spec

pytest.importorskip("s3fs", reason="needs s3fs (pip install -e '.[test]')")
pytest.importorskip("moto.server", reason="needs moto[server] (pip install -e '.[test]')")

SECRET = "dummy-secret-7f3a9c"
BUCKET = "videos"


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 with a bucket; yields (endpoint, s3fs filesystem)."""
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "dummy-key")
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True)
        fs.mkdir(BUCKET)
        yield endpoint, fs
    server.stop()


@pytest.fixture
def aws(s3, monkeypatch):
    """The S3 server's endpoint in AWS_ENDPOINT_URL (as a user would set it); its filesystem."""
    endpoint, fs = s3
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return fs


@pytest.fixture(scope="module")
def ci(s3, tmp_path_factory) -> Path:
    """The spec's folder after "CI" built it with the S3 cache under s3://videos/team and a local cache."""
    endpoint, _ = s3
    folder = tmp_path_factory.mktemp("ci")
    write_spec(folder, small_spec())
    url = f"s3://{BUCKET}/team"
    result = run_cli("build", folder / "video.yaml", "--cache", url, "--cache-endpoint", endpoint, "--report",
                     folder / "report.json", "--cache-dir", folder / "cache")  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder


def _steps(report: Path) -> dict[tuple[str, int | None], dict]:
    return {(s["kind"], s["scene"]): s for s in json.loads(report.read_text())["steps"]}


def _laptop(tmp_path: Path, built: Path, *args) -> tuple[object, Path]:
    """A "second machine": the spec and its lock copied to a new folder, an empty local cache, `args`."""
    folder = tmp_path / "laptop"
    folder.mkdir()
    for name in ("video.yaml", "video.lock.yaml"):
        shutil.copy(built / name, folder / name)
    report = folder / "report.json"
    result = run_cli("build", folder / "video.yaml", "--report", report, "--cache-dir", tmp_path / "local", *args)
    assert result.exit_code == 0, result.output
    return result, folder


def _output_blob(fs, prefix: str, key: str, output: str) -> str:
    """The remote path of one output blob of a step key's record."""
    record = json.loads(fs.cat_file(f"{BUCKET}/{prefix}/actions/{key[:2]}/{key}.json"))
    digest = record["outputs"][output]["digest"]
    return f"{BUCKET}/{prefix}/objects/{digest[:2]}/{digest}"


def _copy_team(fs, prefix: str) -> str:
    """A copy of CI's remote cache under another prefix (a test may damage it)."""
    fs.copy(f"{BUCKET}/team", f"{BUCKET}/{prefix}", recursive=True)
    return f"s3://{BUCKET}/{prefix}"


def test_ci_uploads_every_step(ci, aws):
    steps = _steps(ci / "report.json")
    assert {s["status"] for s in steps.values()} == {"built"}
    assert not any("from" in s for s in steps.values())
    for step in steps.values():
        assert aws.exists(f"{BUCKET}/team/actions/{step['key'][:2]}/{step['key']}.json")


def test_a_second_machine_downloads_every_step_and_renders_nothing(ci, aws, tmp_path):
    result, laptop = _laptop(tmp_path, ci, "--cache", f"s3://{BUCKET}/team")
    steps = _steps(laptop / "report.json")
    assert {(s["status"], s["from"]) for s in steps.values()} == {("cached", "remote")}
    assert "nothing to do (16 from the shared cache)" in result.output
    assert frame_hashes(laptop / "out" / "video.mp4") == frame_hashes(ci / "out" / "video.mp4")
    local = [p for p in (tmp_path / "local" / "objects").glob("*/*") if not p.name.startswith(".")]
    assert len(local) >= len(steps)  # the blobs were downloaded into the local copy
    again = run_cli("build", laptop / "video.yaml", "--report", laptop / "again.json", "--cache-dir",
                    tmp_path / "local", "--cache", f"s3://{BUCKET}/team")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert {s["from"] for s in _steps(laptop / "again.json").values()} == {"local"}


def test_the_autostream_cache_variable_works_like_the_option(ci, aws, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSTREAM_CACHE", f"s3://{BUCKET}/team")
    _, laptop = _laptop(tmp_path, ci)
    assert {s["from"] for s in _steps(laptop / "report.json").values()} == {"remote"}
    status = run_cli("status", laptop / "video.yaml", "--cache-dir", tmp_path / "other")
    assert status.exit_code == 0 and "up to date: nothing to build" in status.output


def test_a_corrupt_remote_blob_is_a_miss_and_its_step_rebuilds(ci, aws, tmp_path):
    url = _copy_team(aws, "corrupt")
    key = _steps(ci / "report.json")[("thumbnail", None)]["key"]
    blob = _output_blob(aws, "corrupt", key, "image")
    good = aws.cat_file(blob)
    aws.pipe_file(blob, bytes(b ^ 0xFF for b in good))  # same size, other bytes
    _, laptop = _laptop(tmp_path, ci, "--cache", url)
    steps = _steps(laptop / "report.json")
    assert steps[("thumbnail", None)]["status"] == "built"
    assert {s["from"] for k, s in steps.items() if k != ("thumbnail", None)} == {"remote"}
    assert (laptop / "out" / "video.thumb.png").read_bytes() == good
    assert hashlib.sha256(aws.cat_file(blob)).hexdigest() == blob.rsplit("/", 1)[1]  # uploaded again, whole


def test_a_record_whose_blob_is_gone_remotely_is_a_miss(ci, aws, tmp_path):
    url = _copy_team(aws, "missing")
    key = _steps(ci / "report.json")[("segment", 0)]["key"]
    blob = _output_blob(aws, "missing", key, "video")
    aws.rm(blob)
    _, laptop = _laptop(tmp_path, ci, "--cache", url)
    steps = _steps(laptop / "report.json")
    assert steps[("segment", 0)]["status"] == "built"
    assert steps[("mux", None)] == {**steps[("mux", None)], "status": "cached", "from": "remote"}
    assert frame_hashes(laptop / "out" / "video.mp4") == frame_hashes(ci / "out" / "video.mp4")
    assert aws.exists(blob)  # the rebuilt step uploaded it


def test_a_shared_folder_works_like_s3(tmp_path):
    shared, ci, draft = tmp_path / "shared", tmp_path / "ci", ("--profile", "draft")
    write_spec(ci, two_scene_spec())
    first = run_cli("build", ci / "video.yaml", "--cache", f"file://{shared}", "--cache-dir", ci / "cache", *draft)
    assert first.exit_code == 0, first.output
    assert not [p for p in shared.rglob("*") if p.name.endswith(".tmp")]
    _, laptop = _laptop(tmp_path, ci, "--cache", f"file://{shared}", *draft)
    assert {(s["status"], s["from"]) for s in _steps(laptop / "report.json").values()} == {("cached", "remote")}
    assert frame_hashes(laptop / "out" / "video.draft.mp4") == frame_hashes(ci / "out" / "video.draft.mp4")


def test_a_failed_upload_is_a_warning_and_the_build_succeeds(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "objects").write_text("not a folder")  # every blob upload fails
    spec = two_scene_spec()
    spec["scenes"] = spec["scenes"][:1]
    write_spec(tmp_path, spec)
    report = tmp_path / "report.json"
    result = run_cli("build", tmp_path / "video.yaml", "--cache", shared, "--report", report, "--profile", "draft")
    assert result.exit_code == 0, result.output
    notes = json.loads(report.read_text())["notes"]
    assert [n for n in notes if n.startswith(f"remote cache {shared}: upload failed")]
    assert not (shared / "actions").exists()  # no record without its blobs
    assert (tmp_path / "out" / "video.draft.mp4").is_file()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_cache_is_one_line_and_exit_1(s3, tmp_path, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    write_spec(tmp_path, small_spec())
    result = run_cli("build", tmp_path / "video.yaml", "--cache", f"s3://{BUCKET}/team")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: remote cache s3://{BUCKET}/team at http://127.0.0.1:{port}: ")
    assert "AWS_ENDPOINT_URL or --cache-endpoint" in lines[0]
    assert "Traceback" not in result.output and SECRET not in result.output
    assert not (tmp_path / "out").exists()


def test_a_malformed_cache_url_is_exit_2(tmp_path):
    write_spec(tmp_path, small_spec())
    for url in ("s3:///no-bucket", "ftp://host/cache", "file://host/cache"):
        result = run_cli("build", tmp_path / "video.yaml", "--cache", url)
        assert result.exit_code == 2, (url, result.output)
        assert result.stderr.strip().startswith(f"error: --cache {url}: "), result.stderr
