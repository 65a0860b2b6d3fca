"""A `.env` loaded again (as `watch` does before each build) follows the file's edits."""

from __future__ import annotations

import os

from autostream_compiler.env import load_env_file


def test_reloading_updates_and_removes_only_what_the_file_set(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSTREAM_FROM_SHELL", "shell")
    (tmp_path / ".env").write_text("AUTOSTREAM_A=1\nAUTOSTREAM_B=2\nAUTOSTREAM_FROM_SHELL=file\n")
    load_env_file(tmp_path)
    assert (os.environ["AUTOSTREAM_A"], os.environ["AUTOSTREAM_B"]) == ("1", "2")
    assert os.environ["AUTOSTREAM_FROM_SHELL"] == "shell"  # the environment wins over the file

    (tmp_path / ".env").write_text("AUTOSTREAM_A=10\n")  # A edited, B removed
    load_env_file(tmp_path)
    assert os.environ["AUTOSTREAM_A"] == "10" and "AUTOSTREAM_B" not in os.environ
    assert os.environ["AUTOSTREAM_FROM_SHELL"] == "shell"

    (tmp_path / ".env").unlink()
    load_env_file(tmp_path)
    assert "AUTOSTREAM_A" not in os.environ and os.environ["AUTOSTREAM_FROM_SHELL"] == "shell"
