"""The offline expander: sentence splitting, pacing, seeds and formats."""

from autostream_compiler.expand.graph import frame_format, scene_seed
from autostream_compiler.expand.offline import sentences, split_script


def test_sentences_keep_abbreviations_inside():
    assert sentences("Dr. Smith arrived. It was 5 p.m. sharp! Was it? Yes.") == [
        "Dr. Smith arrived.",
        "It was 5 p.m. sharp!",
        "Was it?",
        "Yes.",
    ]


def test_split_script_groups_sentences_by_pacing_and_paragraphs():
    sentence = "This sentence has exactly eight words in it."
    script = " ".join([sentence] * 6) + "\n\nA new paragraph starts a new scene."
    scenes = split_script(script, words_per_minute=150, scene_seconds=10)  # about 25 words a scene
    assert [len(s.split()) for s in scenes] == [24, 24, 7]
    assert scenes[-1] == "A new paragraph starts a new scene."


def test_frame_sizes():
    assert (frame_format("16:9", "1080p", 30).width, frame_format("16:9", "1080p", 30).height) == (1920, 1080)
    assert (frame_format("9:16", "720p", 30).width, frame_format("9:16", "720p", 30).height) == (720, 1280)
    assert (frame_format("1:1", "1080p", 30).width, frame_format("1:1", "1080p", 30).height) == (1080, 1080)


def test_seed_depends_on_the_picture_not_the_position():
    assert scene_seed(0, "a volcano") == scene_seed(0, "a volcano")
    assert scene_seed(0, "a volcano") != scene_seed(1, "a volcano")
    assert scene_seed(0, "a volcano") != scene_seed(0, "a glacier")
