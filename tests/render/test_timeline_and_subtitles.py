"""Pure render decisions: scene lengths, caption layout, ASS and SRT text."""

import json

from autostream_compiler.render.ffmpeg import (
    X264,
    Shot,
    segment_argv,
    transition_argv,
)
from autostream_compiler.render.subtitles import (
    ass_escape,
    ass_time,
    srt_document,
    srt_time,
    vtt_document,
)
from autostream_compiler.render.timeline import (
    TimedWord,
    layout_cues,
    safe_area,
    scene_frames,
    shift,
)


def _words(texts, step=0.5):
    return [TimedWord(t, i * step, i * step + step * 0.8) for i, t in enumerate(texts)]


def measure(text: str) -> float:
    return 10.0 * len(text)


def test_scene_frames_round_up_to_whole_frames():
    assert scene_frames(2.0, 0.5, 30) == 75
    assert scene_frames(2.01, 0.5, 30) == 76
    assert scene_frames(0.0, 0.0, 30) == 1


def test_cues_fit_width_lines_and_break_after_sentences():
    words = _words(["one", "two", "three.", "four", "five", "six", "seven", "eight", "nine"])
    cues = layout_cues(words, measure, max_width=95, max_lines=2, scene_end=10)
    assert [c.lines for c in cues] == [[[0, 1], [2]], [[3, 4], [5, 6]], [[7], [8]]]
    for cue in cues:
        for line in cue.lines:
            assert measure(" ".join(words[i].text for i in line)) <= 95
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))
    assert cues[-1].end <= 10


def test_a_word_too_wide_for_the_line_scales_its_cue_down():
    words = _words(["pneumonoultramicroscopicsilicovolcanoconiosis"])
    [cue] = layout_cues(words, measure, max_width=200, max_lines=2, scene_end=5)
    assert cue.scale * measure(words[0].text) <= 200 + 1e-9


def test_safe_area_keeps_vertical_captions_above_platform_controls():
    assert safe_area("9:16", 1080, 1920, 0.08).bottom == 384
    assert safe_area("16:9", 1920, 1080, 0.08).bottom == 86


def test_user_text_cannot_become_ass_tags():
    assert ass_escape(r"{\b1}bold\N") == "\\{\\\u2060b1\\}bold\\\u2060N"


def test_time_formats():
    assert ass_time(3723.456) == "1:02:03.46"
    assert srt_time(3723.456) == "01:02:03,456"
    assert srt_document([(0, 1.5, ["a", "b"])]) == "1\n00:00:00,000 --> 00:00:01,500\na\nb\n"
    assert shift(_words(["x"]), 10, 2) == [{"text": "x", "start": 10.0, "end": 10.4, "scene": 2}]


def test_segment_and_transition_argvs_are_lists_with_a_sub_pixel_camera_move():
    shot = Shot("image.png", "c.ass", 48, 6, "zoom_in", 0.08)
    argv = segment_argv(shot, 36, 24, "fonts", X264, "out.mp4")
    assert argv[1:3] == ["-m", "autostream_compiler.render.warp"]  # the move is drawn by the warp process
    plan = json.loads(argv[3])
    assert plan["shots"] == [{"image": "image.png", "frames": 48, "first": 6, "preset": "zoom_in", "strength": 0.08}]
    assert plan["count"] == 36 and argv[4] == "--"
    graph = argv[argv.index("-filter_complex") + 1]
    assert "ass=filename=c.ass" in graph and "setpts=N+6" in graph  # the captions continue from frame 6
    assert argv[argv.index("-frames:v") + 1] == "36" and "pipe:0" in argv
    still = shot._replace(preset="none")
    plain = segment_argv(still, 36, 24, "f", X264, "o.mp4")
    assert "warp" not in " ".join(plain) and plain[plain.index("-i") + 1] == "image.png"
    join = transition_argv(shot, still, 12, 24, "wipeleft", "fonts", X264, "t.mp4")
    graph = join[join.index("-filter_complex") + 1]
    assert "xfade=transition=wipeleft:duration=0.500000:offset=0" in graph and join.count("-i") == 1
    assert "crop=iw:ih/2:0:0" in graph and "crop=iw:ih/2:0:ih/2" in graph  # both shots come stacked in one stream
    assert len(json.loads(join[3])["shots"]) == 2
    both_still = transition_argv(still, still, 12, 24, "fade", "fonts", X264, "t.mp4")
    assert both_still.count("-i") == 2 and "warp" not in " ".join(both_still)
    assert vtt_document([(0, 1.5, ["a <b>", "c"])]) == "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\na &lt;b&gt;\nc\n"
