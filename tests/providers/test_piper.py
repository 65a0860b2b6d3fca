"""piper's model is optimized once and saved; when it cannot be saved, synthesis still works the same."""

import numpy as np

from autostream_compiler.providers import piper_tts

WORDS = "Deep beneath a volcano, rock melts into magma.".split()


def test_unsaved_optimized_model_falls_back_to_the_same_samples(monkeypatch):
    piper_tts._model.cache_clear()
    saved = piper_tts.synthesize(WORDS, "en_US-joe-medium", 1.0)
    assert "-ort" in piper_tts._model("en_US-joe-medium")[0]

    def no_room(model, dest):
        raise OSError(28, "No space left on device")

    piper_tts._model.cache_clear()
    monkeypatch.setattr(piper_tts, "_optimize", no_room)
    monkeypatch.setattr(piper_tts.Path, "is_file", lambda self: "-ort" not in self.name)  # not saved yet
    try:
        unsaved = piper_tts.synthesize(WORDS, "en_US-joe-medium", 1.0)
        assert "-ort" not in piper_tts._model("en_US-joe-medium")[0]
    finally:
        piper_tts._model.cache_clear()
    assert np.array_equal(saved.samples, unsaved.samples) and saved.timings == unsaved.timings
