"""Builds on Celery workers: a real redis-server on a free loopback port, real `autostream worker`
processes, the coordinator's `build --executor celery`. The video is the one a local build makes,
steps spread over the workers (the report names each step's worker), a worker killed mid-segment
costs nothing but time, and a broker that dies is one line and exit 1 with the cache intact."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import (
    OUTSIDE,
    frame_hashes,
    free_port,
    run_cli,
    small_spec,
    start_redis,
    start_worker,
    stop_worker,
    write_spec,
)

pytest.importorskip("celery", reason="needs Celery (pip install -e '.[test]')")
if shutil.which("redis-server") is None:
    pytest.skip(
        "needs Debian's redis-server (apt-get install redis-server; .ci/run installs it)", allow_module_level=True
    )

EXAMPLES = Path(__file__).resolve().parents[2] / "specs" / "examples"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Redis, a shared cache folder and two workers (one step at a time each)."""
    root = tmp_path_factory.mktemp("cluster")
    redis_server, broker = start_redis(root)
    shared = root / "shared"
    workers = [start_worker(root / f"w{n}", broker, str(shared), "--concurrency", "1") for n in (1, 2)]
    state = {"broker": broker, "shared": shared, "workers": workers, "root": root}
    yield state
    for worker in state["workers"]:
        stop_worker(worker)
    redis_server.terminate()
    redis_server.wait()


def _example(folder: Path) -> Path:
    """The 6-scene example (spec and lock) in a folder of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("volcano-script.yaml", "volcano-script.lock.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder / "volcano-script.yaml"


def _remote_build(spec: Path, cluster, *args: str):
    return run_cli("build", spec, "--executor", "celery", "--broker", cluster["broker"], "--cache",
                   cluster["shared"], "--report", spec.parent / "report.json", *args)  # fmt: skip


def _build_argv(broker: str, cache: Path, *args: str) -> list[str]:
    """`autostream build video.yaml` on the workers of `broker`, as its own process."""
    return [sys.executable, "-m", "autostream_compiler", "build", "video.yaml", "--executor", "celery",
            "--broker", broker, "--cache", str(cache), *args]  # fmt: skip


ENV = {k: v for k, v in os.environ.items() if not k.startswith(OUTSIDE)}


def _steps(spec: Path) -> list[dict]:
    return json.loads((spec.parent / "report.json").read_text())["steps"]


def _unique_spec(word: str) -> dict:
    """small_spec with its own narration (no step of it is in any cache yet)."""
    spec = small_spec()
    for scene in spec["scenes"]:
        scene["narration"] = f"{scene['narration']} {word}."
    return spec


def test_workers_build_the_example_frame_for_frame_as_a_local_build(tmp_path, cluster):
    spec = _example(tmp_path / "remote")
    result = _remote_build(spec, cluster, "--profile", "draft")
    assert result.exit_code == 0, result.output
    steps = _steps(spec)
    assert {s["status"] for s in steps} == {"built"}
    ran = {s["worker"] for s in steps}
    assert ran == {w.name for w in cluster["workers"]}, "steps should spread over both workers"
    assert all(name.rsplit(":", 1)[1].isdigit() for name in ran)

    local = _example(tmp_path / "local")
    assert run_cli("build", local, "--profile", "draft", "--cache-dir", tmp_path / "own").exit_code == 0
    video = "out/volcano-script.draft.mp4"
    assert frame_hashes(spec.parent / video) == frame_hashes(local.parent / video)

    # a second machine (a fresh local copy, the same shared cache) renders nothing
    laptop = _example(tmp_path / "laptop")
    again = run_cli("build", laptop, "--profile", "draft", "--cache", cluster["shared"], "--cache-dir",
                    tmp_path / "laptop-cache", "--report", laptop.parent / "report.json")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert {(s["status"], s["from"]) for s in _steps(laptop)} == {("cached", "remote")}
    assert frame_hashes(laptop.parent / video) == frame_hashes(local.parent / video)


def _segment_running(worker) -> bool:
    """Whether the worker's ffmpeg is rendering a scene's segment now."""
    for pid in Path("/proc").iterdir():
        try:
            args = (pid / "cmdline").read_bytes()
            if (
                b"segment.mp4" in args
                and int((pid / "stat").read_text().rsplit(")", 1)[1].split()[1]) == worker.process.pid
            ):
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def test_a_worker_killed_during_a_segment_costs_the_build_nothing_but_time(tmp_path, cluster):
    folder = tmp_path / "video"
    write_spec(folder, _unique_spec("Killed"))
    argv = _build_argv(cluster["broker"], cluster["shared"], "--report", "report.json")
    build = subprocess.Popen(argv, cwd=folder, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and build.poll() is None and time.monotonic() < deadline:
        victim = next((w for w in cluster["workers"] if _segment_running(w)), None)
        time.sleep(0.02)
    assert victim is not None, "no segment was seen running on a worker"
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    out, err = build.communicate(timeout=300)
    cluster["workers"] = [w for w in cluster["workers"] if w is not victim]
    cluster["workers"].append(
        start_worker(cluster["root"] / "w3", cluster["broker"], str(cluster["shared"]), "-c", "1")
    )

    assert build.returncode == 0, err
    steps = json.loads((folder / "report.json").read_text())["steps"]
    assert {s["status"] for s in steps} == {"built"}
    survivor = next(w for w in cluster["workers"] if w is not victim).name
    assert any(s["worker"] == survivor for s in steps if s["kind"] == "segment")
    assert next(s for s in steps if s["kind"] == "mux")["worker"] != victim.name

    local = tmp_path / "local"
    write_spec(local, _unique_spec("Killed"))
    assert run_cli("build", local / "video.yaml", "--cache-dir", tmp_path / "own").exit_code == 0
    assert frame_hashes(folder / "out" / "video.mp4") == frame_hashes(local / "out" / "video.mp4")


def test_two_coordinators_building_one_spec_at_once_get_the_same_video(tmp_path, cluster):
    builds = []
    for name in ("a", "b"):
        write_spec(tmp_path / name, _unique_spec("Twice"))
        argv = _build_argv(cluster["broker"], cluster["shared"], "--report", "report.json")
        builds.append(subprocess.Popen(argv, cwd=tmp_path / name, env=ENV, stderr=subprocess.PIPE, text=True))
    for build in builds:
        _, err = build.communicate(timeout=300)
        assert build.returncode == 0, err
    reports = [json.loads((tmp_path / n / "report.json").read_text())["steps"] for n in ("a", "b")]
    assert [s["key"] for s in reports[0]] == [s["key"] for s in reports[1]]
    for a, b in zip(*reports):
        assert {a["status"], b["status"]} <= {"built", "cached"}, (a, b)
    assert frame_hashes(tmp_path / "a/out/video.mp4") == frame_hashes(tmp_path / "b/out/video.mp4")


def test_the_same_through_an_s3_cache(tmp_path, monkeypatch):
    pytest.importorskip("moto.server", reason="needs moto[server] (pip install -e '.[test]')")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    redis_server, broker = start_redis(tmp_path)
    try:
        host, port = server.get_host_and_port()
        aws = {
            "AWS_ACCESS_KEY_ID": "dummy",
            "AWS_SECRET_ACCESS_KEY": "dummy-secret-91",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        aws["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        for name, value in aws.items():
            monkeypatch.setenv(name, value)
        import s3fs

        s3fs.S3FileSystem(client_kwargs={"endpoint_url": aws["AWS_ENDPOINT_URL"]}, skip_instance_cache=True).mkdir(
            "team"
        )
        url = "s3://team/cache"
        workers = [start_worker(tmp_path / f"s3-worker{n}", broker, url, "-c", "1", env=aws) for n in (1, 2)]
        try:
            write_spec(tmp_path / "ci", _unique_spec("Bucket"))
            result = run_cli("build", tmp_path / "ci/video.yaml", "--executor", "celery", "--broker", broker,
                             "--cache", url, "--report", tmp_path / "ci/report.json")  # fmt: skip
        finally:
            for worker in workers:
                stop_worker(worker)
        assert result.exit_code == 0, result.output
        steps = json.loads((tmp_path / "ci/report.json").read_text())["steps"]
        assert {s["status"] for s in steps} == {"built"}
        assert {s["worker"] for s in steps} == {w.name for w in workers}

        write_spec(tmp_path / "laptop", _unique_spec("Bucket"))
        again = run_cli("build", tmp_path / "laptop/video.yaml", "--cache", url, "--report",
                        tmp_path / "laptop/report.json")  # fmt: skip
        assert again.exit_code == 0, again.output
        steps = json.loads((tmp_path / "laptop/report.json").read_text())["steps"]
        assert {(s["status"], s["from"]) for s in steps} == {("cached", "remote")}
        assert "dummy-secret-91" not in again.output + result.output
    finally:
        server.stop()
        redis_server.terminate()
        redis_server.wait()


def test_the_broker_stopped_mid_build_is_one_line_and_exit_1_with_the_cache_intact(tmp_path):
    redis_server, broker = start_redis(tmp_path)
    worker = start_worker(tmp_path / "w", broker, str(tmp_path / "shared"), "-c", "1")
    try:
        write_spec(tmp_path / "video", _unique_spec("Stopped"))
        argv = _build_argv(broker, tmp_path / "shared", "--events", "events.jsonl")
        build = subprocess.Popen(argv, cwd=tmp_path / "video", env=ENV, stderr=subprocess.PIPE, text=True)
        events = tmp_path / "video" / "events.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and '"done"' not in (events.read_text() if events.exists() else ""):
            time.sleep(0.05)
        redis_server.terminate()
        redis_server.wait()
        _, err = build.communicate(timeout=120)
    finally:
        stop_worker(worker)
        if redis_server.poll() is None:
            redis_server.kill()
    assert build.returncode == 1, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"broker {broker}" in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "video" / "out" / "video.mp4").exists()
    cache = tmp_path / "video" / ".autostream" / "cache"
    for record in (cache / "actions").glob("*/*.json"):
        for out in json.loads(record.read_text())["outputs"].values():
            blob = cache / "objects" / out["digest"][:2] / out["digest"]
            assert blob.stat().st_size == out["size"], record
    assert not [p for d in ("objects", "actions") for p in (cache / d).rglob("*.tmp")], "temp files left"


def test_command_errors_name_the_fix(tmp_path):
    spec = write_spec(tmp_path, small_spec())
    no_cache = run_cli("build", spec, "--executor", "celery", "--broker", "redis://127.0.0.1:1/0")
    assert no_cache.exit_code == 2 and "give --cache URL" in no_cache.output
    no_broker = run_cli("build", spec, "--executor", "celery", "--cache", tmp_path / "shared")
    assert no_broker.exit_code == 2 and "AUTOSTREAM_BROKER" in no_broker.output
    amqp = run_cli("build", spec, "--executor", "celery", "--broker", "amqp://h/", "--cache", tmp_path / "shared")
    assert amqp.exit_code == 2 and "redis://" in amqp.output
    port = free_port()
    dead = run_cli("build", spec, "--executor", "celery", "--broker", f"redis://:hunter2@127.0.0.1:{port}/0",
                   "--cache", tmp_path / "shared")  # fmt: skip
    assert dead.exit_code == 1, dead.output
    assert [line for line in dead.output.splitlines() if line.strip()] == [
        f"error: broker redis://127.0.0.1:{port}/0: Error 111 connecting to 127.0.0.1:{port}. Connection refused; "
        "start Redis there or fix --broker/AUTOSTREAM_BROKER"
    ]
    assert "hunter2" not in dead.output
    worker = run_cli("worker", "--broker", f"redis://127.0.0.1:{port}/0")
    assert worker.exit_code == 2 and "--cache" in worker.output


def test_a_queue_without_workers_fails_its_steps_after_the_wait(tmp_path, monkeypatch):
    redis_server, broker = start_redis(tmp_path)
    try:
        monkeypatch.setenv("AUTOSTREAM_WORKER_WAIT", "2")
        spec = write_spec(tmp_path / "video", _unique_spec("Nobody"))
        result = run_cli("build", spec, "--executor", "celery", "--broker", broker, "--cache", tmp_path / "shared")
    finally:
        redis_server.terminate()
        redis_server.wait()
    assert result.exit_code == 1
    assert "no worker takes autostream.cpu" in result.output and "autostream worker --broker" in result.output


def test_the_studio_sends_its_builds_to_the_workers(tmp_path, cluster):
    pytest.importorskip("gradio_client", reason="needs the studio extra (pip install -e '.[test]')")
    from helpers import start_studio, stop_studio

    workspace = tmp_path / "ws"
    studio = start_studio(
        workspace, "--executor", "celery", "--broker", cluster["broker"], "--cache", str(cluster["shared"])
    )
    try:
        spec = {"version": 1, "title": "Studio on workers", "format": {"resolution": "720p"}}
        spec["scenes"] = [{"narration": "A studio build runs on the workers."}, {"narration": "Every step of it."}]
        video, report, _ = studio.client().predict(yaml.safe_dump(spec, sort_keys=False), api_name="/build")
    finally:
        stop_studio(studio)
    steps = json.loads(report)["steps"]
    assert {s["status"] for s in steps} == {"built"}
    assert {s["worker"] for s in steps} <= {w.name for w in cluster["workers"]}
    assert Path(video).is_file()


def test_a_studio_whose_broker_is_down_says_so_and_stops(tmp_path):
    port = free_port()
    result = run_cli("studio", "--workspace", tmp_path / "ws", "--executor", "celery", "--broker",
                     f"redis://127.0.0.1:{port}/0", "--cache", tmp_path / "shared")  # fmt: skip
    assert result.exit_code == 1
    assert result.output.startswith(f"error: broker redis://127.0.0.1:{port}/0: ")


def test_steps_cached_here_before_the_shared_cache_was_used_reach_the_workers(tmp_path, cluster):
    spec = write_spec(tmp_path, _unique_spec("Before"))
    assert run_cli("build", spec).exit_code == 0  # local only: the shared cache has none of it
    text = spec.read_text().replace("title: Test video", "title: Retitled")
    spec.write_text(text)
    result = _remote_build(spec, cluster)
    assert result.exit_code == 0, result.output
    built = {s["kind"]: s for s in _steps(spec) if s["status"] == "built"}
    assert set(built) == {"mux", "thumbnail"}  # the title is in the video's metadata and on the card
    assert built["mux"]["worker"] in {w.name for w in cluster["workers"]}


def test_a_worker_refuses_forged_tasks(tmp_path):
    """What a worker runs comes from its own code: a task naming another function, a key that does not
    follow from the task, or a name that is not a digest fails that task and touches nothing outside."""
    from autostream_compiler.engine.cache import Store
    from autostream_compiler.engine.remote import RemoteCache
    from autostream_compiler.engine.tasks import run_task

    store = Store(tmp_path / "local", remote=RemoteCache(str(tmp_path / "shared")))
    base = {"key": "a" * 64, "kind": "timeline", "label": "timeline", "function": "timeline", "kwargs": {},
            "provider": "autostream", "file_digests": {}, "files": {}, "inputs": {}, "cache": str(tmp_path / "shared"),
            "params": {"fps": 24, "pause": 0.5, "joins": [], "chapters": []}}  # fmt: skip
    forged = {
        "another function": {**base, "function": "write_wav"},
        "a module path": {**base, "function": "os.system"},
        "a key that does not follow": base,
        "a file outside the cache": {**base, "files": {"source": {"digest": "../../etc/passwd", "size": 1}}},
        "another cache": {**base, "cache": str(tmp_path / "elsewhere")},
    }
    for what, task in forged.items():
        data = run_task(task, store, "test:1")
        assert data["status"] == "failed" and not data["recorded"], what
    assert not list((tmp_path / "shared").rglob("actions/*/*.json")), "nothing was recorded"
