"""The cache under concurrent writers, crashes and gc: what other processes and the user see."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import run_cli, small_spec, tmpfs, write_spec

from autostream_compiler.digests import digest, file_digest
from autostream_compiler.engine.cache import Store
from autostream_compiler.engine.cache_gc import collect, parse_age, parse_size, scan
from autostream_compiler.errors import BuildError, UserError

REPO = Path(__file__).resolve().parents[2]
DAY = 86400


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def _blobs(root: Path) -> list[Path]:
    return [p for p in (root / "objects").glob("*/*") if not p.name.startswith(".")]


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and mtime: a dry run must not change one."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


# --- concurrent writers and readers --------------------------------------------------------------


def test_eight_threads_storing_the_same_blob_all_succeed(tmp_path):
    store = Store(tmp_path / "cache")
    sources = []
    for _ in range(8):
        src = store.workdir() / "narration.wav"
        src.write_bytes(b"identical narration " * 5000)
        sources.append(src)
    start = threading.Barrier(8)
    results: list = [None] * 8
    errors: list[Exception] = []

    def put(i: int) -> None:
        start.wait()
        try:
            results[i] = store.put_file(sources[i])
            store.put_action("k" * 64, {"kind": "tts", "outputs": {"audio": results[i]}})
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(r == results[0] for r in results) and results[0]["size"] == 100_000
    assert len(_blobs(store.root)) == 1
    assert store.get_action("k" * 64)["outputs"]["audio"] == results[0]
    assert _temps(store.root) == []


PUTTER = """
import sys
from contextlib import contextmanager
from pathlib import Path
from autostream_compiler.engine.cache import Store
store = Store(Path(sys.argv[1]))
work = store.workdir()
for i in range(150):
    src = work / f"out{i}"
    src.write_bytes(f"blob {i % 50} ".encode() * 2000)
    out = store.put_file(src)
    store.put_action(f"{i % 50:064d}", {"kind": "t", "outputs": {"o": out}})
print("done")
"""


def _python(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", *args], env=env, text=True, stdout=subprocess.PIPE, **kwargs)


def test_two_processes_storing_the_same_blobs_both_succeed(tmp_path):
    root = tmp_path / "cache"
    procs = [_python(PUTTER, str(root)) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outputs == ["done\n", "done\n"]
    assert len(_blobs(root)) == 50
    assert all(file_digest(b) == b.name for b in _blobs(root))
    assert _temps(root) == [] and list((root / "tmp").iterdir()) == []  # each removed its own folder at exit
    store = Store(root)
    assert all(store.get_action(f"{i:064d}") is not None for i in range(50))


@pytest.mark.parametrize("how", ["moved", "copied"])
def test_a_reader_never_sees_a_partial_blob_or_record(tmp_path, how):
    store = Store(tmp_path / "cache")
    folder = store.workdir() if how == "moved" else tmp_path  # a file outside the cache's tmp/ is copied
    stop = threading.Event()
    seen, bad = [], []

    def read() -> None:
        while not stop.is_set():
            for blob in _blobs(store.root):
                try:
                    if file_digest(blob) != blob.name:
                        bad.append(blob)
                    seen.append(blob)
                except FileNotFoundError:
                    pass
            for record in (store.root / "actions").glob("*/*.json"):
                json.loads(record.read_bytes())  # never half-written

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(40):
            src = folder / "segment.mp4"
            src.write_bytes(os.urandom(400_000))
            out = store.put_file(src)
            store.put_action(digest(i), {"kind": "segment", "outputs": {"video": out}, "meta": {"n": "x" * 5000}})
    finally:
        stop.set()
        reader.join()
    assert seen and not bad
    assert _temps(store.root) == []


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _put(store: Store, content: bytes) -> dict:
    src = store.workdir() / "out"
    src.write_bytes(content)
    return store.put_file(src)


def test_verify_drops_a_corrupt_blob_and_its_record_so_the_step_runs_again(tmp_path):
    root = tmp_path / "cache"
    store = Store(root)
    out = _put(store, b"a picture")
    store.put_action("a" * 64, {"kind": "image", "outputs": {"image": out}})
    assert Store(root, verify=True).get_action("a" * 64) is not None
    blob = store.object_path(out["digest"])
    blob.write_bytes(b"a pictur3")  # same size: only the digest tells

    assert Store(root).get_action("a" * 64) is not None  # without verify the size check passes
    assert Store(root, verify=True).get_action("a" * 64) is None
    assert not blob.exists() and not store.action_path("a" * 64).exists()

    _put(store, b"a picture")
    blob.write_bytes(b"a pictur3")
    assert Store(root).path(out["digest"]) == blob  # verify=None: the store's setting
    with pytest.raises(BuildError, match="corrupt"):
        Store(root, verify=True).path(out["digest"])
    assert not blob.exists()

    _put(store, b"a picture")
    store.put_action("a" * 64, {"kind": "image", "outputs": {"image": out}})
    blob.write_bytes(b"short")  # another size: a miss even without verify
    assert Store(root).get_action("a" * 64) is None
    assert _put(store, b"a picture") == out and Store(root, verify=True).get_action("a" * 64) is not None


def test_two_builds_of_one_spec_on_one_cache_at_once_both_succeed(tmp_path):
    spec = write_spec(tmp_path, small_spec())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "autostream_compiler", "build", spec.name, "--profile", "draft"]
            + ["--cache-dir", "shared-cache", "-o", f"out/{name}.mp4"],  # a relative cache folder too
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("a", "b")
    ]
    logs = [b.communicate(timeout=300)[0] for b in builds]
    assert [b.returncode for b in builds] == [0, 0], logs
    assert (tmp_path / "out" / "a.mp4").read_bytes() == (tmp_path / "out" / "b.mp4").read_bytes()
    cache = tmp_path / "shared-cache"
    assert _temps(cache) == [] and list((cache / "tmp").iterdir()) == []
    assert all(file_digest(b) == b.name for b in _blobs(cache))


# --- owners and crash leftovers ------------------------------------------------------------------

STUCK = """
import os, sys, time
from contextlib import contextmanager
from pathlib import Path
from autostream_compiler.engine.cache import Store
store = Store(Path(sys.argv[1]))
work = store.workdir()
(work / "partial.mp4").write_bytes(b"half an encode")
(work / "scratch.wav").write_bytes(b"RIFF")
replace = os.replace
def stuck(src, dst):
    if not os.path.basename(src).startswith("."):
        return replace(src, dst)  # the step's output moved to its temp name
    print(store.owner.id, src, flush=True)
    time.sleep(600)
os.replace = stuck  # the process stops (and is killed) between writing a blob's temp file and renaming it
store.put_file(work / "partial.mp4")
"""


@contextmanager
def stuck_writer(root: Path):
    """A real process that opened the cache and stopped while storing a blob: (owner folder, temp file)."""
    proc = _python(STUCK, str(root))
    try:
        owner_id, temp = proc.stdout.readline().split()
        yield proc, root / "tmp" / owner_id, Path(temp)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_opening_the_cache_removes_a_killed_process_leftovers_but_never_a_live_ones(tmp_path):
    root = tmp_path / "cache"
    with stuck_writer(root) as (live, live_folder, live_temp), stuck_writer(root) as (dead, dead_folder, dead_temp):
        assert (live_folder / "owner.lock").exists() and live_temp.parent.parent == root / "objects"
        assert len(list(live_folder.glob("step-*/scratch.wav"))) == 1
        dead.send_signal(signal.SIGKILL)
        dead.wait()
        assert dead_folder.exists() and dead_temp.exists()

        store = Store(root)  # sweeps
        assert not dead_folder.exists() and not dead_temp.exists()
        assert live_folder.exists() and live_temp.exists() and list(live_folder.glob("step-*/scratch.wav"))
        assert sorted(p.name for p in (root / "tmp").iterdir()) == sorted([live_folder.name, store.owner.id])
        assert _blobs(root) == []  # the blob was never renamed into place

        live.send_signal(signal.SIGKILL)
        live.wait()
    Store(root)
    assert [p.name for p in (root / "tmp").iterdir()] == [store.owner.id]
    assert _temps(root) == []


def test_a_folder_without_its_lock_is_left_while_young_and_removed_when_old(tmp_path):
    root = tmp_path / "cache"
    Store(root)
    half_made = root / "tmp" / "otherhost-4242-0badf00d"  # an owner between mkdir and creating its lock
    (half_made / "step-1").mkdir(parents=True)
    Store(root)
    assert half_made.exists()
    os.utime(half_made, (time.time() - 120,) * 2)
    Store(root)
    assert not half_made.exists()


def test_a_cache_deleted_under_a_running_process_is_made_again(tmp_path):
    root = tmp_path / "cache"
    store = Store(root)
    shutil.rmtree(root)  # e.g. `rm -rf .autostream` while `watch` runs
    assert store.workdir().is_dir()  # the same Store registers anew
    again = Store(root)
    assert again.owner.folder.is_dir() and (again.owner.folder / "owner.lock").exists()
    assert _put(again, b"after") == {"digest": digest_of(b"after"), "size": 5}


# --- gc ------------------------------------------------------------------------------------------


def _entry(store: Store, name: str, age: float, *contents: bytes) -> tuple[str, list[dict]]:
    """An action with one blob per content, last used `age` seconds ago."""
    outs = []
    for i, content in enumerate(contents):
        src = store.workdir() / f"{name}{i}"
        src.write_bytes(content)
        outs.append(store.put_file(src))
    key = digest(name)
    store.put_action(key, {"kind": name, "outputs": {f"o{i}": o for i, o in enumerate(outs)}})
    when = time.time() - age
    os.utime(store.action_path(key), (when, when))
    for o in outs:
        os.utime(store.object_path(o["digest"]), (when, when))
    return key, outs


def _state(store: Store, spec: Path, *keys: str) -> None:
    (store.root / "state").mkdir(exist_ok=True)
    state = {"spec": str(spec), "profile": "final", "steps": {f"step {i}": {"key": k} for i, k in enumerate(keys)}}
    (store.root / "state" / f"{digest(str(spec))[:16]}.json").write_text(json.dumps(state))


@pytest.fixture
def aged_cache(tmp_path):
    """A cache whose entries were last used days ago; P is needed by an existing spec's latest build,
    S only by a deleted spec's, R was used just now (while this process, a live owner, has it open)."""
    store = Store(tmp_path / "cache")
    kb = b"x" * 1000
    shared = b"shared " * 1000
    keys = {
        "A": _entry(store, "A", 40 * DAY, b"A" + kb, shared),
        "B": _entry(store, "B", 20 * DAY, b"B" + kb),
        "C": _entry(store, "C", 2 * DAY, b"C" + kb, shared),
        "P": _entry(store, "P", 60 * DAY, b"P" + kb),
        "S": _entry(store, "S", 90 * DAY, b"S" + kb),
    }
    key_r, _ = _entry(store, "R", 0, b"R" + kb)
    os.utime(store.action_path(key_r))  # used now, after this process opened the cache
    keys["R"] = (key_r, _)
    spec = write_spec(tmp_path / "project", small_spec())
    _state(store, spec, keys["P"][0])
    _state(store, tmp_path / "deleted.yaml", keys["S"][0])
    return store, keys


def _kept(store: Store, keys: dict) -> str:
    return "".join(name for name, (key, _) in sorted(keys.items()) if store.action_path(key).exists())


def test_gc_older_than_removes_unused_entries_and_keeps_pinned_and_recent_ones(aged_cache):
    store, keys = aged_cache
    before = _files(store.root)
    dry = run_cli("cache", "gc", "--older-than", "30d", "--dry-run", "--cache-dir", store.root)
    assert dry.exit_code == 0
    assert dry.stdout.startswith("would remove 2 actions and 2 objects: would free ")
    assert _files(store.root) == before

    result = run_cli("cache", "gc", "--older-than", "30d", "--cache-dir", store.root)
    assert result.exit_code == 0 and result.stdout.startswith("removed 2 actions and 2 objects: freed ")
    assert result.stdout.count("\n") == 1 and "; the cache is " in result.stdout
    assert _kept(store, keys) == "BCPR"  # A (40 days) and S (its spec is gone) removed; P pinned though older
    shared = keys["A"][1][1]["digest"]
    assert store.object_path(shared).exists()  # C still names it
    assert not store.object_path(keys["A"][1][0]["digest"]).exists()
    assert store.get_action(keys["C"][0]) is not None and store.get_action(keys["P"][0]) is not None


def test_gc_max_size_removes_least_recently_used_first_and_says_when_pins_keep_it_above(aged_cache):
    store, keys = aged_cache
    total = scan(store.root).total
    s_bytes = store.action_path(keys["S"][0]).stat().st_size + 1001  # S's record and its blob
    a_bytes = store.action_path(keys["A"][0]).stat().st_size + 1001  # A's record and its own blob
    report = collect(store.root, max_size=total - s_bytes - 1)
    assert _kept(store, keys) == "BCPR"  # S, then A: the least recently used (P, older, is pinned)
    assert (report.actions, report.objects) == (2, 2) and report.freed == s_bytes + a_bytes
    assert not report.over_cap and report.size_after == total - s_bytes - a_bytes

    result = run_cli("cache", "gc", "--max-size", "1KB", "--cache-dir", store.root)
    assert result.exit_code == 0
    assert _kept(store, keys) == "PR"
    assert not store.object_path(keys["A"][1][1]["digest"]).exists()  # the shared blob went with C
    line = result.stdout.strip()
    assert "\n" not in line and "above --max-size 1.0 KB" in line
    assert "needed by the latest build of 1 spec" in line


def test_gc_keeps_what_another_running_process_used_since_its_build_began(tmp_path):
    store = Store(tmp_path / "cache")
    old_key, _ = _entry(store, "old", 3 * DAY)
    recent_key, _ = _entry(store, "recent", 10 * 3600, b"used by the running build")
    with stuck_writer(store.root) as (proc, folder, temp):
        began = time.time() - DAY  # the other process's build began a day ago
        os.utime(folder / "owner.lock", (began, began))
        out = run_cli("cache", "gc", "--older-than", "1h", "--cache-dir", store.root).stdout
        assert out.startswith("removed 1 action: freed ")
        assert not store.action_path(old_key).exists()
        assert store.action_path(recent_key).exists()  # used after the running build began
        assert folder.exists() and temp.exists() and list(folder.glob("step-*/scratch.wav"))
        info = run_cli("cache", "info", "--cache-dir", store.root).stdout
        assert "running    2 processes using the cache" in info  # it and this test
        proc.kill()
        proc.wait()
    out = run_cli("cache", "gc", "--older-than", "1h", "--cache-dir", store.root).stdout
    assert out.startswith("removed 1 action, 1 object and 2 leftovers: freed ")  # its folder and temp file
    assert not store.action_path(recent_key).exists() and not folder.exists() and not temp.exists()


def test_gc_removes_unreferenced_blobs_and_old_temp_files_after_a_grace_period(tmp_path):
    store = Store(tmp_path / "cache")
    young = store.object_path(_put(store, b"no action names me")["digest"])
    old = store.object_path(_put(store, b"nor me, and I am old")["digest"])
    stray = store.root / "objects" / "ab" / ".abcdef.1234.tmp"  # an older autostream's temp file
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"half")
    old_step = store.tmp / "step-x1y2"  # an older autostream's step folder
    old_step.mkdir()
    (old_step / "speech.wav").write_bytes(b"RIFF")
    for path in (old, stray, old_step / "speech.wav", old_step):
        os.utime(path, (time.time() - 2 * 3600,) * 2)
    report = collect(store.root)
    assert (report.actions, report.objects, report.leftovers) == (0, 1, 2)
    assert young.exists() and not old.exists() and not stray.exists() and not old_step.exists()
    assert store.owner.folder.exists()


# --- the commands --------------------------------------------------------------------------------


def test_cache_info_lists_size_objects_actions_and_uses(aged_cache, monkeypatch, tmp_path):
    store, _ = aged_cache
    result = run_cli("cache", "info", "--cache-dir", store.root)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{store.root}: ") and lines[0].endswith(" KB")
    assert lines[1].startswith("  objects    7 (")
    assert lines[2].startswith("  actions    6, last used ")
    assert "(oldest)" in lines[2] and "(newest)" in lines[2]
    assert lines[3] == "  pinned     1 action needed by the latest build of 1 spec (gc keeps them)"

    monkeypatch.setenv("AUTOSTREAM_CACHE_DIR", str(store.root))
    assert run_cli("cache", "info").stdout == result.stdout
    monkeypatch.delenv("AUTOSTREAM_CACHE_DIR")
    monkeypatch.chdir(tmp_path / "project")
    empty = run_cli("cache", "info")
    assert empty.exit_code == 0 and "no cache here yet" in empty.stdout
    assert str(tmp_path / "project" / ".autostream" / "cache") in empty.stdout
    assert run_cli("cache", "gc", "--max-size", "1GB").stdout == "nothing to remove; the cache is 0 B\n"


@pytest.mark.parametrize(
    "args",
    [
        ("--max-size", "2XB"),
        ("--max-size", "-5GB"),
        ("--max-size", "5GiB"),
        ("--older-than", "30"),
        ("--older-than", "3 years"),
    ],
)
def test_a_bad_size_or_age_is_one_line_and_exit_2(tmp_path, args):
    result = run_cli("cache", "gc", *args, "--cache-dir", tmp_path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"error: {args[0]} ")


def test_a_folder_that_is_not_a_cache_is_refused(tmp_path):
    (tmp_path / "tmp" / "step-precious").mkdir(parents=True)
    result = run_cli("cache", "gc", "--older-than", "0s", "--cache-dir", tmp_path)
    assert result.exit_code == 2 and "is not an autostream cache" in result.stderr
    assert (tmp_path / "tmp" / "step-precious").exists()


def test_sizes_and_ages():
    assert parse_size("500MB") == 500_000_000 and parse_size("2GB") == 2 * 10**9 and parse_size("2gb") == 2 * 10**9
    assert parse_size("1.5TB") == 1_500_000_000_000 and parse_size("800KB") == 800_000 and parse_size("123") == 123
    assert parse_age("12h") == 12 * 3600 and parse_age("30d") == 30 * DAY and parse_age("2w") == 14 * DAY
    assert parse_age("90m") == 5400 and parse_age("45s") == 45
    with pytest.raises(UserError):
        parse_size("")


# --- a read-only folder, a full disk ---------------------------------------------------------------


def test_a_read_only_cache_folder_is_one_line_naming_it_and_the_fix(tmp_path):
    cache = tmp_path / "ro-cache"
    with tmpfs(cache, "ro,size=1m") as mounted:
        if not mounted:
            if os.geteuid() == 0:
                pytest.skip("needs a read-only mount (root without mount rights ignores file modes)")
            cache.chmod(0o555)
        with pytest.raises(UserError, match=f"cache folder {cache}: cannot write there .*--cache-dir"):
            Store(cache)
        spec = write_spec(tmp_path / "project", small_spec())
        result = run_cli("build", spec, "--cache-dir", cache)
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1].startswith(f"error: cache folder {cache}: cannot write there")
        assert "Traceback" not in result.output


def test_a_full_disk_leaves_no_temp_file_and_says_so_in_one_line(tmp_path, monkeypatch):
    cache = tmp_path / "small-cache"
    with tmpfs(cache, "size=256k") as mounted:
        store = Store(cache)
        big = tmp_path / "big.mp4"  # not a step's output in the cache: copied
        big.write_bytes(os.urandom(400_000))
        if not mounted:  # simulate: the copy fails half-way with ENOSPC

            def full(fsrc, fdst, *args):
                fdst.write(fsrc.read(1000))
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(shutil, "copyfileobj", full)
        with pytest.raises(BuildError) as err:
            store.put_file(big)
        message = str(err.value)
        assert "\n" not in message and message.startswith(f"cache folder {cache}: no space left on the device")
        assert "autostream cache gc" in message
        assert _temps(cache) == [] and _blobs(cache) == []
        if mounted:  # fill the disk, then a record cannot be written either
            filler = cache / "filler"
            with pytest.raises(OSError):
                filler.write_bytes(os.urandom(400_000))
            with pytest.raises(BuildError, match="no space left"):
                store.put_action("f" * 64, {"kind": "x", "outputs": {}, "meta": {"pad": "y" * 200_000}})
            assert _temps(cache) == []


def test_gc_with_a_huge_size_or_on_a_read_only_cache_is_one_line(tmp_path):
    huge = run_cli("cache", "gc", "--max-size", "9" * 400 + "GB", "--cache-dir", tmp_path / "c")
    assert huge.exit_code == 2 and huge.stderr.count("\n") == 1 and "too large" in huge.stderr
    cache = tmp_path / "ro-cache"
    with tmpfs(cache, "size=1m") as mounted:
        if not mounted:
            pytest.skip("needs a tmpfs mount")
        fill = (
            "from autostream_compiler.engine.cache import Store; import sys, pathlib\n"
            "s = Store(pathlib.Path(sys.argv[1])); f = s.workdir() / 'x'; f.write_text('x')\n"
            "s.put_action('a' * 64, {'outputs': {'x': s.put_file(f)}})"
        )
        subprocess.run([sys.executable, "-c", fill, str(cache)], check=True)
        old = time.time() - 86400
        for path in cache.rglob("*.json"):
            os.utime(path, (old, old))
        subprocess.run(["mount", "-o", "remount,ro", str(cache)], check=True)
        result = run_cli("cache", "gc", "--older-than", "1h", "--cache-dir", cache)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith(f"error: cache folder {cache}") and result.stderr.count("\n") == 1


def test_a_cache_on_a_network_file_system_is_verified(tmp_path):
    from autostream_compiler.engine.cache import fs_type, on_network_fs

    mounts = "/dev/vda / ext4 rw 0 0\nserver:/team /mnt/team nfs4 rw 0 0\nx /mnt/team/s3 fuse.s3fs rw 0 0\n"
    assert fs_type("/home/me/cache", mounts) == "ext4"
    assert fs_type("/mnt/team/cache", mounts) == "nfs4"
    assert fs_type("/mnt/team/s3/cache", mounts) == "fuse.s3fs"
    assert fs_type("/mnt/teamwork", mounts) == "ext4"
    assert not on_network_fs(tmp_path) and not Store(tmp_path / "cache").verify  # local: --verify turns it on
    assert Store(tmp_path / "cache", verify=True).verify
