"""compose.yaml without Docker: its services are the ones the README promises (Redis, two workers, the
studio), every autostream command in it is one the CLI accepts, and all of them meet on one broker
and one shared cache (the worker tests run the same topology with real processes)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from autostream_compiler.cli import main

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def _parses(argv: list[str]) -> None:
    """Parse a command line as `autostream` would, running nothing (a bad option raises)."""
    with main.make_context("autostream", list(argv), resilient_parsing=False) as ctx:
        command = main.get_command(ctx, argv[0])
        command.make_context(argv[0], list(argv[1:]), parent=ctx)


def test_compose_runs_redis_two_workers_and_the_studio_on_one_broker_and_cache():
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert {"redis", "worker", "studio"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] == 2
    ours = {name: s for name, s in services.items() if s.get("image") == "autostream"}
    for name, service in ours.items():
        if "command" in service:
            _parses(service["command"])
        env = service["environment"]
        assert env["AUTOSTREAM_BROKER"] == "redis://redis:6379/0", name
        assert env["AUTOSTREAM_CACHE"] == services["worker"]["environment"]["AUTOSTREAM_CACHE"], name
        assert any(v.startswith("cache:") for v in service["volumes"]), name
    studio = services["studio"]["command"]
    assert studio[:1] == ["studio"] and studio[studio.index("--executor") + 1] == "celery"
    assert "7860:7860" in services["studio"]["ports"]


def test_a_typo_in_a_command_would_be_caught():
    try:
        _parses(["worker", "--concurency", "2"])
    except click.UsageError:
        return
    raise AssertionError("an unknown option parsed")
