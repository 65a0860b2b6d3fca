"""pexels provider: search terms, orientation and the pick are pure; fetch runs the real httpx client
against a fake Pexels API on 127.0.0.1 (photos as JPEGs, videos as a real MP4)."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from fake_pexels import FakePexels, Reply, color, jpeg
from PIL import Image

from autostream_compiler.providers import pexels
from autostream_compiler.providers.online import ProviderError

KEY = "pexelsFakeKey_DoNotPrint_0123456789"
VISUAL = "A cinematic shot of a red sunrise over the harbour, 35mm, high detail"
QUERY = "red sunrise harbour"


@pytest.fixture
def fake(monkeypatch):
    with FakePexels(key=KEY) as server:
        monkeypatch.setenv("PEXELS_API_KEY", KEY)
        monkeypatch.setenv("AUTOSTREAM_PEXELS_URL", server.url)
        monkeypatch.setattr(pexels, "BACKOFF", 0.01)
        yield server


def _fetch(kind: str = "photo", seed: int = 0, size: tuple[int, int] = (1920, 1080), **kwargs) -> pexels.Asset:
    return pexels.fetch(kind, VISUAL, seed, *size, timeout=5, retries=kwargs.pop("retries", 2), **kwargs)


# --- pure helpers ---


@pytest.mark.parametrize(
    "visual, terms",
    [
        (VISUAL, QUERY),
        (
            "An old fisherman's boat at dawn; photorealistic, 8k, f/1.8, shallow depth of field",
            "old fisherman boat dawn",
        ),
        ("Close-up of hands typing on a laptop keyboard, bokeh, award-winning photo", "hands typing laptop keyboard"),
        ("Snow-capped mountains... under a starry sky!", "snow-capped mountains starry sky"),
        ("a red car, a red light", "red car light"),
        ("Cinematic, 4K, ultra detailed, trending on artstation", ""),
        ("", ""),
    ],
)
def test_search_terms_keep_the_content_words_in_order(visual, terms):
    assert pexels.search_terms(visual) == terms


def test_search_terms_stop_at_the_limit():
    assert (
        pexels.search_terms("red green blue yellow orange purple pink brown") == "red green blue yellow orange purple"
    )
    assert pexels.search_terms("red green blue yellow", limit=2) == "red green"


@pytest.mark.parametrize(
    "size, expected",
    [
        ((1920, 1080), "landscape"),
        ((1080, 1920), "portrait"),
        ((1080, 1080), "square"),
        ((1100, 1000), "square"),
        ((1000, 1100), "square"),
        ((1200, 1000), "landscape"),
        ((1000, 1150), "portrait"),
    ],
)
def test_orientation(size, expected):
    assert pexels.orientation(*size) == expected


def test_the_pick_follows_the_seed_among_the_top_five():
    results = [{"id": n} for n in range(12)]
    assert [pexels.pick(results, seed)["id"] for seed in range(7)] == [0, 1, 2, 3, 4, 0, 1]
    assert [pexels.pick(results[:2], seed)["id"] for seed in range(3)] == [0, 1, 0]


def test_the_pick_prefers_videos_long_enough():
    results = [{"id": 1, "duration": 4}, {"id": 2, "duration": 12}, {"id": 3, "duration": 9}, {"id": 4, "duration": 20}]
    assert {pexels.pick(results, seed, min_duration=10)["id"] for seed in range(6)} == {2, 4}
    assert pexels.pick(results, 0, min_duration=60)["id"] == 1  # none is long enough: any will do


def test_the_video_file_is_the_smallest_that_covers_the_frame():
    files = [
        {"id": 1, "file_type": "video/mp4", "width": 3840, "height": 2160, "link": "u"},
        {"id": 2, "file_type": "video/mp4", "width": 1280, "height": 720, "link": "h"},
        {"id": 3, "file_type": "video/mp4", "width": 640, "height": 360, "link": "s"},
        {"id": 4, "file_type": "video/mp4", "width": 1920, "height": 1080, "link": "f"},
        {"id": 5, "file_type": "application/x-mpegURL", "width": None, "height": None, "link": "m3u8"},
    ]
    assert pexels.video_file(files, 1280, 720)["id"] == 2
    assert pexels.video_file(files, 1920, 1080)["id"] == 4
    assert pexels.video_file(files, 3840, 2160)["id"] == 4  # never more than 1080 lines needed
    assert pexels.video_file(files, 1080, 1920)["id"] == 4  # a portrait frame: its short side
    assert pexels.video_file(files, 640, 360)["id"] == 3
    assert pexels.video_file(files, 640, 480)["id"] == 2  # 360 lines would not do
    assert pexels.video_file(files[1:3], 1920, 1080)["id"] == 2  # none covers it: the largest
    assert pexels.video_file(files[4:], 1920, 1080) is None


def test_the_credit_is_one_markdown_line():
    asset = pexels.Asset(
        "video", 7, "https://www.pexels.com/video/7/", "Ann [B]", "https://www.pexels.com/@ann", b"", 1, 1
    )
    assert (
        asset.credit()
        == r"Video by [Ann \[B\]](https://www.pexels.com/@ann) on [Pexels](https://www.pexels.com/video/7/)"
    )
    assert "data" not in repr(asset)


def test_a_rate_limit_reset_is_waited_for_briefly():
    def limited(headers: dict) -> httpx.HTTPStatusError:
        response = httpx.Response(429, headers=headers, request=httpx.Request("GET", "http://127.0.0.1/"))
        return httpx.HTTPStatusError("429", request=response.request, response=response)

    assert pexels._wait(limited({"Retry-After": "0"}), 3) == 0
    assert pexels._wait(limited({"Retry-After": "120"}), 0) == pexels.MAX_WAIT
    assert pexels._wait(limited({"X-Ratelimit-Reset": str(int(time.time()) + 3600)}), 0) == pexels.MAX_WAIT
    assert pexels._wait(limited({"X-Ratelimit-Reset": str(int(time.time()) - 10)}), 0) == 0
    assert pexels._wait(TimeoutError(), 2) == pexels.BACKOFF * 4


# --- fetch against the fake ---


def test_a_photo(fake):
    asset = _fetch("photo", seed=7)
    [search] = fake.requests
    assert search["path"] == "/v1/search" and search["headers"]["authorization"] == KEY
    assert search["query"] == {"query": QUERY, "orientation": "landscape", "per_page": "15", "page": "1"}
    assert asset.kind == "photo" and asset.id == 102  # seed 7 of three results
    [download] = fake.file_requests
    assert download["path"] == "/files/photos/102-large2x-1280x853.jpeg"
    assert "authorization" not in download["headers"]  # the key goes to the API only
    image = Image.open(io.BytesIO(asset.data))
    assert image.format == "JPEG" and image.size == (1280, 853) == (asset.width, asset.height)
    assert all(abs(a - b) <= 3 for a, b in zip(image.convert("RGB").getpixel((640, 400)), color(102)))
    assert asset.duration is None
    assert asset.credit() == (
        "Photo by [Photographer 102](https://www.pexels.com/@photographer-102)"
        " on [Pexels](https://www.pexels.com/photo/fake-102/)"
    )


def test_the_orientation_follows_the_frame_and_seeds_vary_the_pick(fake):
    fake.photos = [fake.photo(n, 853, 1280) for n in range(301, 309)]
    ids = [_fetch("photo", seed=seed, size=(1080, 1920)).id for seed in range(6)]
    assert ids == [301, 302, 303, 304, 305, 301]
    assert {r["query"]["orientation"] for r in fake.requests} == {"portrait"}
    _fetch("photo", size=(1080, 1080))
    assert fake.requests[-1]["query"]["orientation"] == "square"


def test_a_photo_without_large2x_falls_back_to_the_original(fake):
    photo = fake.photo(120)
    del photo["src"]["large2x"]
    fake.photos = [photo]
    assert _fetch("photo").id == 120
    assert fake.file_requests[-1]["path"] == "/files/photos/120-original-1280x853.jpeg"


def test_a_video(fake):
    asset = _fetch("video", seed=4, size=(1280, 720))
    [search] = fake.requests
    assert search["path"] == "/videos/search" and search["headers"]["authorization"] == KEY
    assert search["query"]["orientation"] == "landscape" and search["query"]["query"] == QUERY
    assert asset.kind == "video" and asset.id == 202 and asset.duration == 8.0
    assert asset.data[4:8] == b"ftyp" and len(asset.data) > 1000
    assert fake.file_requests[-1]["path"] == "/files/videos/202-1280x720.mp4"
    assert (asset.width, asset.height) == (1280, 720)
    assert asset.credit() == (
        "Video by [Videographer 202](https://www.pexels.com/@v202) on [Pexels](https://www.pexels.com/video/fake-202/)"
    )


def test_the_video_file_follows_the_frame(fake):
    _fetch("video", size=(1920, 1080))
    _fetch("video", size=(3840, 2160))
    _fetch("video", size=(854, 480))
    assert [r["path"] for r in fake.file_requests] == [
        "/files/videos/201-1920x1080.mp4",
        "/files/videos/201-1920x1080.mp4",
        "/files/videos/201-1280x720.mp4",
    ]


def test_long_enough_videos_come_first(fake):
    assert {_fetch("video", seed=seed, min_duration=10).id for seed in range(4)} == {203}
    assert [_fetch("video", seed=seed, min_duration=5).id for seed in range(3)] == [202, 203, 202]
    assert _fetch("video", seed=2, min_duration=60).id == 203  # none long enough: the pick among all


def test_a_refused_key_is_named_not_printed_and_not_retried(fake):
    fake.key = "anotherKey_123456"
    with pytest.raises(ProviderError) as caught:
        _fetch("photo")
    assert str(caught.value) == "pexels refused the key (HTTP 401); check PEXELS_API_KEY"
    assert KEY not in str(caught.value) and len(fake.requests) == 1 and not fake.file_requests
    fake.search_replies.append(Reply(403))
    with pytest.raises(ProviderError, match=r"refused the key \(HTTP 403\)"):
        _fetch("video")
    assert len(fake.requests) == 2


def test_a_rate_limit_is_retried(fake):
    fake.search_replies.append(Reply(429, headers={"Retry-After": "0", "X-Ratelimit-Remaining": "0"}))
    started = time.monotonic()
    asset = _fetch("photo", seed=1)
    assert asset.id == 102 and len(fake.requests) == 2 and time.monotonic() - started < 2


def test_server_errors_exhaust_the_retries(fake):
    fake.search_replies.extend(Reply(500) for _ in range(3))
    with pytest.raises(ProviderError) as caught:
        _fetch("photo", retries=2)
    message = str(caught.value)
    assert "failed after 3 attempts (HTTP 500)" in message and message.startswith("pexels (http://127.0.0.1:")
    assert KEY not in message and "\n" not in message and len(fake.requests) == 3


def test_bad_downloads_are_retried(fake):
    fake.file_replies.append(Reply(body=jpeg(200, 100, (1, 2, 3))[:300]))  # a truncated JPEG
    fake.file_replies.append(Reply(503))
    assert _fetch("photo", retries=2).id == 101 and len(fake.file_requests) == 3
    fake.file_replies.extend(Reply(body=b"<html>not a video</html>") for _ in range(2))
    with pytest.raises(ProviderError, match=r"failed after 2 attempts \(ValueError: not an MP4"):
        _fetch("video", retries=1)


def test_no_result_is_an_error(fake):
    fake.search_replies.append(Reply(results=[]))
    with pytest.raises(ProviderError) as caught:
        _fetch("video")
    assert str(caught.value) == f"pexels found no video for '{QUERY}'"
    assert not fake.file_requests


def test_a_visual_without_search_terms_is_an_error(fake):
    with pytest.raises(ProviderError, match="no search terms"):
        pexels.fetch("photo", "cinematic, 8k, highly detailed", 0, 1920, 1080, timeout=5, retries=0)
    assert not fake.requests


def test_a_missing_key_is_an_error(fake, monkeypatch):
    monkeypatch.delenv("PEXELS_API_KEY")
    with pytest.raises(ProviderError) as caught:
        _fetch("photo")
    assert str(caught.value) == "pexels needs PEXELS_API_KEY; set it, or drop pexels from images.providers"
    assert not fake.requests
