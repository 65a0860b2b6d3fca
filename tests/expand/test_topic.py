"""A topic written into scenes by a model: the real groq and openai SDKs against a fake server."""

from __future__ import annotations

import json
import socket
import time

import pytest
import yaml
from fake_llm import FakeLLM, Reply
from helpers import run_cli, write_spec

KEY = "gsk_test_Secret_0123456789abcdef"
ANSWER = {
    "title": "Where volcanoes come from",
    "scenes": [
        {
            "narration": "Deep below the ground, rock grows so hot that it softens and flows. Scientists call this "
            "melted rock magma, and it is lighter than the stone around it.",
            "visual": "glowing magma under the Earth's crust",
        },
        {
            "narration": "Magma rises through cracks, gathering in chambers under the surface. When the pressure "
            "becomes too great, it bursts out as lava, ash and gas.",
            "visual": "a volcano erupting at night",
        },
    ],
}


def topic_spec(**llm) -> dict:
    return {
        "version": 1,
        "topic": "How volcanoes form, for curious 12-year-olds",
        "format": {"resolution": "720p", "fps": 24},
        "pacing": {"words_per_minute": 170, "pause": 0.5, "target_duration": 20},
        "llm": {"provider": "groq", "temperature": 0.7, **llm},
    }


@pytest.fixture
def fake(monkeypatch):
    with FakeLLM() as server:
        monkeypatch.setenv("GROQ_BASE_URL", server.url)
        monkeypatch.setenv("GROQ_API_KEY", KEY)
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        yield server


def _lock(spec):
    return yaml.safe_load(spec.with_name(f"{spec.stem}.lock.yaml").read_text())


def test_a_topic_becomes_locked_scenes_with_one_request(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.answer(ANSWER)
    result = run_cli("expand", spec)
    assert result.exit_code == 0, result.output
    assert "2 scenes" in result.stdout and "expanded" in result.stdout

    [request] = fake.requests
    assert request.path == "/openai/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "llama-3.3-70b-versatile" and body["temperature"] == 0.7 and body["seed"] == 0
    assert body["response_format"]["type"] == "json_schema"
    system, user = body["messages"]
    assert "calm nature and science documentary" in system["content"] and '"narration"' in system["content"]
    assert "How volcanoes form, for curious 12-year-olds" in user["content"]
    assert "about 54 words of narration in 2 scenes" in " ".join(user["content"].split())

    lock = _lock(spec)
    assert lock["expansion"]["provider"] == "groq" and lock["expansion"]["model"] == "llama-3.3-70b-versatile"
    assert lock["expansion"]["time"].endswith("+00:00")
    assert lock["expansion"]["messages"] == body["messages"]
    graph = lock["graph"]
    assert graph["title"] == "Where volcanoes come from"
    assert [s["visual"] for s in graph["scenes"]] == [s["visual"] for s in ANSWER["scenes"]]
    assert graph["scenes"][0]["image"]["prompt"].startswith("glowing magma under the Earth's crust, documentary")
    assert KEY not in spec.with_name("video.lock.yaml").read_text()


def test_a_current_lock_makes_no_request_and_fields_outside_the_expansion_never_call_the_model(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0
    first = _lock(spec)

    assert run_cli("lock", "--check", spec).exit_code == 0
    data = topic_spec()
    data["format"]["fps"] = 30
    data["voice"] = "piper:en_US-joe-medium"
    write_spec(tmp_path, data)
    check = run_cli("lock", "--check", spec)
    assert check.exit_code == 1 and "without calling a model" in check.stderr
    assert run_cli("expand", spec).exit_code == 0
    second = _lock(spec)
    assert len(fake.requests) == 1
    assert second["expansion"] == first["expansion"] and second["graph"]["format"]["fps"] == 30
    assert second["graph"]["scenes"] == first["graph"]["scenes"]

    refreshed = run_cli("expand", spec, "--refresh")
    assert refreshed.exit_code == 1 and len(fake.requests) == 4  # no reply queued: 500, retried twice
    assert _lock(spec) == second  # a failed expansion writes nothing
    fake.answer(ANSWER)
    assert run_cli("expand", spec, "--refresh").exit_code == 0 and len(fake.requests) == 5


def test_changing_what_feeds_the_model_makes_the_lock_stale(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0
    for change in (
        {"topic": "How glaciers move"},
        {"llm": {"provider": "groq", "temperature": 0.2}},
        {"style": "story"},
        {"seed": 3},
        {"pacing": {"target_duration": 40}},
    ):
        write_spec(tmp_path, {**topic_spec(), **change})
        check = run_cli("lock", "--check", spec)
        assert check.exit_code == 1 and "asks the model again" in check.stderr, change
    assert len(fake.requests) == 1


def test_a_hand_edit_of_a_scene_is_kept_when_the_spec_changes_elsewhere(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0
    lock_file = spec.with_name("video.lock.yaml")
    lock = yaml.safe_load(lock_file.read_text())
    scene = lock["graph"]["scenes"][1]
    scene["narration"] = "Magma rises and, in 1980, Mount St. Helens erupted."
    del scene["spoken"]  # worked out again from the new narration
    lock_file.write_text(yaml.safe_dump(lock, sort_keys=False))
    assert run_cli("lock", "--check", spec).exit_code == 0

    write_spec(tmp_path, {**topic_spec(), "format": {"resolution": "720p", "fps": 30}})
    assert run_cli("expand", spec).exit_code == 0
    kept = _lock(spec)["graph"]["scenes"][1]
    assert kept["narration"] == "Magma rises and, in 1980, Mount St. Helens erupted."
    assert "nineteen eighty," in kept["spoken"] and len(fake.requests) == 1


def test_invalid_json_is_sent_back_and_repaired(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.answer("Sure! Here are your scenes: {scenes: [")
    fake.answer("```json\n" + json.dumps(ANSWER) + "\n```")
    result = run_cli("expand", spec)
    assert result.exit_code == 0, result.output
    assert len(fake.requests) == 2
    repair = fake.requests[1].body["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! Here are your scenes: {scenes: ["}
    assert "not valid JSON" in repair[-1]["content"] and repair[-1]["role"] == "user"


def test_groqs_own_json_check_failure_is_repaired_like_any_invalid_answer(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.replies.append(
        Reply(
            400,
            body={
                "error": {
                    "message": "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.",  # noqa: E501
                    "type": "invalid_request_error",
                    "code": "json_validate_failed",
                    "failed_generation": '{"scenes": [}',
                }
            },
        )
    )
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0 and len(fake.requests) == 2
    repair = fake.requests[1].body
    assert repair["response_format"]["type"] == "json_schema"  # not taken as "no structured output"
    assert (
        repair["messages"][-2]["content"] == '{"scenes": [}' and "not valid JSON" in repair["messages"][-1]["content"]
    )


def test_an_answer_that_breaks_the_schema_fails_after_the_repairs_and_writes_nothing(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    bad = {"scenes": [{"narration": "Lava is hot."}]}  # no visual
    for _ in range(3):
        fake.answer(bad)
    result = run_cli("expand", spec)
    assert result.exit_code == 1
    assert "no usable answer after 2 repairs" in result.stderr and "scenes.0.visual: Field required" in result.stderr
    assert len(fake.requests) == 3
    assert "scenes.0.visual: Field required" in fake.requests[1].body["messages"][-1]["content"]
    assert not spec.with_name("video.lock.yaml").exists() and not (tmp_path / ".autostream").exists()


def test_a_bad_request_about_something_else_is_not_retried_in_json_mode(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.error(400, "Please reduce the length of the messages")
    result = run_cli("expand", spec)
    assert result.exit_code == 1 and len(fake.requests) == 1
    assert "failed (HTTP 400)" in result.stderr and "reduce the length" in result.stderr


def test_structured_output_falls_back_to_json_mode_when_the_model_has_none(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.error(400, "response_format `json_schema` is not supported with this model")
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0
    assert [r.body["response_format"]["type"] for r in fake.requests] == ["json_schema", "json_object"]


def test_rate_limits_are_retried_after_the_time_the_server_asks(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.error(429, "rate limit reached", headers={"Retry-After": "1"})
    fake.answer(ANSWER)
    started = time.monotonic()
    result = run_cli("expand", spec)
    assert result.exit_code == 0, result.output
    assert len(fake.requests) == 2 and time.monotonic() - started >= 1.0


def test_server_errors_are_retried_then_reported(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec(max_retries=1))
    fake.error(503, "overloaded")
    fake.error(503, "overloaded")
    result = run_cli("expand", spec)
    assert result.exit_code == 1 and len(fake.requests) == 2
    assert "failed (HTTP 503)" in result.stderr and "Traceback" not in result.output
    assert not spec.with_name("video.lock.yaml").exists()


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_a_clear_error_that_never_shows_the_key(tmp_path, fake, status):
    spec = write_spec(tmp_path, topic_spec())
    fake.error(status, f"Invalid API Key {KEY}")
    result = run_cli("expand", spec)
    assert result.exit_code == 2 and len(fake.requests) == 1
    assert f"refused the API key (HTTP {status}); set GROQ_API_KEY" in result.stderr
    assert KEY not in result.output and not spec.with_name("video.lock.yaml").exists()


def test_a_model_that_does_not_answer_in_time_fails_cleanly(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec(timeout=0.5, max_retries=0))
    fake.answer(ANSWER, delay=2)
    result = run_cli("expand", spec)
    assert result.exit_code == 1
    assert "did not answer within 0.5 s" in result.stderr and "llm.timeout" in result.stderr
    assert not spec.with_name("video.lock.yaml").exists()


def test_a_topic_without_a_model_fails_before_any_work_naming_the_three_ways_out(tmp_path, monkeypatch):
    for name in ("GROQ_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data = topic_spec()
    del data["llm"]
    spec = write_spec(tmp_path, data)
    result = run_cli("build", spec)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "set GROQ_API_KEY" in line and "base_url" in line and "`script` or `scenes`" in line
    assert str(spec) in line
    assert not (tmp_path / "out").exists() and not spec.with_name("video.lock.yaml").exists()


def test_openai_compatible_servers_through_the_openai_sdk(tmp_path, fake, monkeypatch):
    spec = write_spec(tmp_path, topic_spec(provider="openai", model="llama3.1", base_url=f"{fake.url}/v1"))
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0
    [request] = fake.requests
    assert request.path == "/v1/chat/completions" and request.body["model"] == "llama3.1"
    assert _lock(spec)["expansion"]["provider"] == "openai"

    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")  # the standard variable works too
    write_spec(tmp_path, topic_spec(provider="openai", model="qwen2.5"))
    fake.answer(ANSWER)
    assert run_cli("expand", spec).exit_code == 0
    assert fake.requests[-1].body["model"] == "qwen2.5"


def test_overlong_scenes_are_split_at_sentence_ends(tmp_path, fake):
    sentence = "Hot rock rises slowly from deep inside the planet toward the cold crust above."  # 14 words
    spec = write_spec(
        tmp_path,
        {
            **topic_spec(),
            "pacing": {"words_per_minute": 170, "pause": 0.5, "target_duration": 20, "max_scene_seconds": 12},
        },
    )
    fake.answer({"scenes": [{"narration": " ".join([sentence] * 4), "visual": "rising magma"}]})
    assert run_cli("expand", spec).exit_code == 0
    scenes = _lock(spec)["graph"]["scenes"]
    assert [s["narration"] for s in scenes] == [" ".join([sentence] * 2)] * 2  # 34 words max → 2 of 28
    assert scenes[0]["visual"] == "rising magma" and scenes[1]["visual"] == "rising magma, seen closer"
    assert scenes[0]["image"]["seed"] != scenes[1]["image"]["seed"]
    assert _lock(spec)["graph"]["title"] == "Video"  # no title anywhere: the spec's file name


def test_a_length_far_off_the_target_is_asked_for_once_more(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec())
    fake.answer({"scenes": [{"narration": "Volcanoes are hot.", "visual": "a volcano"}]})
    fake.answer(ANSWER)
    result = run_cli("expand", spec)
    assert result.exit_code == 0 and len(fake.requests) == 2
    ask = fake.requests[1].body["messages"][-1]["content"]
    assert "has 3 words" in ask and "about 20 seconds" in ask and "about 54 words" in ask
    assert len(_lock(spec)["graph"]["scenes"]) == 2


def test_a_failed_second_ask_keeps_the_first_answer(tmp_path, fake):
    spec = write_spec(tmp_path, topic_spec(max_retries=0))
    fake.answer({"title": "Short", "scenes": [{"narration": "Volcanoes are hot.", "visual": "a volcano"}]})
    fake.error(503, "overloaded")
    result = run_cli("expand", spec)
    assert result.exit_code == 0, result.output
    assert "keeping the first answer" in result.stderr and len(fake.requests) == 2
    assert [s["narration"] for s in _lock(spec)["graph"]["scenes"]] == ["Volcanoes are hot."]


def test_one_overlong_sentence_is_split_at_clauses(tmp_path, fake):
    spec = write_spec(
        tmp_path,
        {
            **topic_spec(),
            "pacing": {"words_per_minute": 170, "pause": 0.5, "target_duration": 20, "max_scene_seconds": 6},
        },
    )
    sentence = (
        "Magma rises through the crust, melting the rock around it as it climbs, gathering in a chamber "
        "below the mountain, and waiting there for centuries until the pressure finally wins"
    )  # 31 words
    fake.answer({"scenes": [{"narration": sentence + ". It erupts.", "visual": "magma"}] * 2})
    assert run_cli("expand", spec).exit_code == 0
    scenes = [s["narration"] for s in _lock(spec)["graph"]["scenes"]]
    assert all(len(n.split()) <= 17 for n in scenes)  # 6 s at 170 wpm
    assert " ".join(scenes[: len(scenes) // 2]) == sentence + ". It erupts."
    assert scenes[0] == "Magma rises through the crust, melting the rock around it as it climbs,"


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "graph: 3\n"])
def test_a_damaged_lock_is_one_clear_error(tmp_path, fake, text):
    spec = write_spec(tmp_path, topic_spec())
    spec.with_name("video.lock.yaml").write_text(text)
    result = run_cli("lock", "--check", spec)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "video.lock.yaml:" in result.stderr and len(fake.requests) == 0


def test_an_answer_file_takes_the_place_of_the_model(tmp_path, monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    spec = write_spec(tmp_path, topic_spec())
    (tmp_path / "answer.json").write_text(json.dumps(ANSWER))
    assert run_cli("expand", spec, "--answer", tmp_path / "answer.json").exit_code == 0
    expansion = _lock(spec)["expansion"]
    assert expansion["provider"] == "answer-file" and expansion["source"] == "answer.json"
    assert "model" not in expansion and run_cli("lock", "--check", spec).exit_code == 0

    (tmp_path / "bad.json").write_text('{"scenes": []}')
    result = run_cli("expand", spec, "--answer", tmp_path / "bad.json")
    assert result.exit_code == 2 and "bad.json: it does not follow the schema" in result.stderr


def test_an_unreachable_server_is_retried_then_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    spec = write_spec(tmp_path, topic_spec(base_url=f"http://127.0.0.1:{port}", max_retries=1))
    result = run_cli("expand", spec)
    assert result.exit_code == 1
    assert f"cannot reach groq at http://127.0.0.1:{port}" in result.stderr and "1 retry" in result.stderr
    assert not spec.with_name("video.lock.yaml").exists()


def test_a_dialogue_topic_has_the_model_assign_speakers(tmp_path, fake):
    spec = write_spec(
        tmp_path,
        {**topic_spec(), "speakers": {"Ada": {"voice": "piper:en_US-joe-medium"}, "Ben": {"voice": "espeak:en-us"}}},
    )
    scenes = [{**s, "speaker": who} for s, who in zip(ANSWER["scenes"], ["Ada", "Ben"])]
    fake.answer({"title": "Talk", "scenes": [{**scenes[0], "speaker": "Cleo"}, scenes[1]]})
    fake.answer({"title": "Talk", "scenes": scenes})
    assert run_cli("expand", spec).exit_code == 0
    first = fake.requests[0].body
    items = first["response_format"]["json_schema"]["schema"]["properties"]["scenes"]["items"]
    assert items["properties"]["speaker"] == {"type": "string", "enum": ["Ada", "Ben"]}
    assert "conversation between Ada, Ben" in first["messages"][0]["content"]
    assert "'Cleo' is not one of Ada, Ben" in fake.requests[1].body["messages"][-1]["content"]
    graph = _lock(spec)["graph"]
    assert [(s["speaker"], s["voice"]) for s in graph["scenes"]] == [
        ("Ada", "piper:en_US-joe-medium"),
        ("Ben", "espeak:en-us"),
    ]
