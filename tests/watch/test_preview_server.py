"""The preview server alone: its page, status, event stream, video ranges, and no other file of the disk."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from autostream_compiler.errors import UserError
from autostream_compiler.preview import Preview, parse_address, start


@pytest.fixture()
def served(tmp_path):
    preview = Preview()
    server = start(("127.0.0.1", 0), preview)
    try:
        yield preview, server.server_address[1], tmp_path
    finally:
        server.stop()


def _get(port: int, path: str, headers: dict | None = None, method: str = "GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)  # path as is
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, resp


def _video(folder, name: str, size: int = 5000) -> bytes:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    (folder / name).write_bytes(data)
    return data


def test_page_and_status_before_any_build(served):
    preview, port, _ = served
    status, body, resp = _get(port, "/")
    assert status == 200 and resp.getheader("Content-Type").startswith("text/html")
    assert b"EventSource" in body and b"<video" in body
    status, body, resp = _get(port, "/status.json")
    assert status == 200 and resp.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {
        "state": "building",
        "build": 0,
        "video": None,
        "error": None,
        "steps": [],
        "scenes": [],
    }


def test_status_follows_builds_and_a_failure_keeps_the_last_video(served):
    preview, port, folder = served
    data = _video(folder, "blob1")
    preview.done(
        folder / "blob1",
        "v.draft.mp4",
        [{"kind": "mux", "scene": None, "status": "built", "seconds": 0.1}],
        [{"title": "One", "start": 0.0, "end": 2.0}],
    )
    status = json.loads(_get(port, "/status.json")[1])
    assert (status["state"], status["build"], status["video"]) == ("done", 1, "/video/1/v.draft.mp4")
    assert status["scenes"] == [{"title": "One", "start": 0.0, "end": 2.0}]
    assert _get(port, "/video/1/v.draft.mp4")[1] == data

    preview.building()
    assert json.loads(_get(port, "/status.json")[1])["state"] == "building"
    preview.failed("v.yaml:3:1: scenes: expected a list; fix it", [])
    status = json.loads(_get(port, "/status.json")[1])
    assert (status["state"], status["build"], status["video"]) == ("failed", 2, "/video/1/v.draft.mp4")
    assert status["error"].startswith("v.yaml:3:1")
    assert _get(port, "/video/1/v.draft.mp4")[0] == 200  # the last good video still plays

    _video(folder, "blob3")
    preview.done(folder / "blob3", "v.draft.mp4", [], [])
    assert json.loads(_get(port, "/status.json")[1])["video"] == "/video/3/v.draft.mp4"
    assert _get(port, "/video/1/v.draft.mp4")[0] == 200  # the one before: a browser may still be reading it
    _video(folder, "blob4")
    preview.done(folder / "blob4", "v.draft.mp4", [], [])
    assert _get(port, "/video/1/v.draft.mp4")[0] == 404
    assert _get(port, "/video/3/v.draft.mp4")[0] == 200


def test_video_ranges(served):
    preview, port, folder = served
    data = _video(folder, "blob", 5000)
    preview.done(folder / "blob", "v.mp4", [], [])
    status, body, resp = _get(port, "/video/1/v.mp4")
    assert status == 200 and body == data and resp.getheader("Accept-Ranges") == "bytes"
    assert resp.getheader("Content-Type") == "video/mp4"
    status, body, resp = _get(port, "/video/1/v.mp4", {"Range": "bytes=100-199"})
    assert status == 206 and body == data[100:200] and resp.getheader("Content-Range") == "bytes 100-199/5000"
    status, body, resp = _get(port, "/video/1/v.mp4", {"Range": "bytes=4990-"})
    assert status == 206 and body == data[4990:]
    status, body, resp = _get(port, "/video/1/v.mp4", {"Range": "bytes=-10"})
    assert status == 206 and body == data[-10:]
    status, body, resp = _get(port, "/video/1/v.mp4", {"Range": "bytes=4000-9999"})
    assert status == 206 and body == data[4000:] and resp.getheader("Content-Range") == "bytes 4000-4999/5000"
    status, _, resp = _get(port, "/video/1/v.mp4", {"Range": "bytes=6000-"})
    assert status == 416 and resp.getheader("Content-Range") == "bytes */5000"
    status, body, resp = _get(port, "/video/1/v.mp4", method="HEAD")
    assert status == 200 and body == b"" and resp.getheader("Content-Length") == "5000"


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/video/1/../../../../etc/passwd",
        "/video/1/..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "/etc/passwd",
        "/status.json/../../etc/passwd",
        "/video/1/v.mp4/../../../../etc/passwd",
        "/video/2/v.mp4",
        "/video/1/passwd.mp4",
        "/preview.html",
        "/preview.py",
        "/blob",
        "/video/1/%00.mp4",
        "http://127.0.0.1/etc/passwd",
        "/..\\..\\etc\\passwd",
    ],
)
def test_nothing_else_of_the_disk_is_served(served, path):
    preview, port, folder = served
    _video(folder, "blob")
    preview.done(folder / "blob", "v.mp4", [], [])
    status, body, _ = _get(port, path)
    assert status == 404
    assert b"root:" not in body and b"def " not in body


def test_events_stream_the_status_on_every_change(served):
    preview, port, folder = served
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
    stream = sock.makefile("rb")
    assert stream.readline().startswith(b"HTTP/1.1 200")
    headers = []
    while (line := stream.readline()) != b"\r\n":
        headers.append(line.decode().lower())
    assert "content-type: text/event-stream\r\n" in headers

    def event() -> dict:
        line = stream.readline()
        assert line.startswith(b"data: "), line
        assert stream.readline() == b"\n"
        return json.loads(line[6:])

    assert event()["state"] == "building"  # the status as it is on connecting
    _video(folder, "blob")
    preview.done(folder / "blob", "v.mp4", [], [{"title": "A", "start": 0, "end": 1}])
    assert (first := event())["state"] == "done" and first["video"] == "/video/1/v.mp4"
    preview.failed("boom", [])
    assert event()["error"] == "boom"
    sock.close()


def test_serve_addresses():
    assert parse_address("8765") == ("127.0.0.1", 8765)
    assert parse_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_address("[::1]:8080") == ("::1", 8080)
    for bad in ("abc", "70000", "host:", "1.2.3.4:-1"):
        with pytest.raises(UserError, match=r"expected \[HOST:\]PORT"):
            parse_address(bad)


def test_a_port_in_use_is_one_clear_error(served):
    _, port, _ = served
    with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}.*choose another port"):
        start(("127.0.0.1", port), Preview())


def test_names_that_need_quoting(served):
    preview, port, folder = served
    data = _video(folder, "blob")
    preview.done(folder / "blob", "my talk #1.Draft.MP4", [], [])
    url = json.loads(_get(port, "/status.json")[1])["video"]
    assert url == "/video/1/my%20talk%20%231.Draft.MP4"
    assert _get(port, url)[1] == data


def test_only_loopback_names_on_a_loopback_address(served):
    preview, port, folder = served
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert _get(port, "/status.json", {"Host": host})[0] == 200
    status, body, _ = _get(port, "/status.json", {"Host": f"attacker.example:{port}"})  # DNS rebinding
    assert status == 403 and b"state" not in body


@pytest.mark.parametrize(
    "header", ["bytes=5-2", "bytes=abc", "bytes=0-1,5-9", "items=0-9", "bytes=-", "bytes=" + "9" * 5000 + "-"]
)
def test_ranges_that_are_not_one_valid_range_get_the_whole_file(served, header):
    preview, port, folder = served
    data = _video(folder, "blob", 1000)
    preview.done(folder / "blob", "v.mp4", [], [])
    status, body, _ = _get(port, "/video/1/v.mp4", {"Range": header})
    assert status == 200 and body == data
