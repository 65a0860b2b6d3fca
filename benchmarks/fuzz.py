"""Fuzz benchmark: the long run of tests/specfile/test_fuzz.py's generators (mutated specs, styles and locks).

Run: `.venv/bin/python benchmarks/fuzz.py [--count 10000] [--seed 0]`. Each case is written to a fresh temp
folder and `autostream status` and `autostream expand` run on it in-process; every run is checked for the
same properties as the test (exit code 0, 1 or 2, no traceback or raw exception, no file outside the
project, each command stopped after 30 s). Writes benchmarks/results/fuzz.json: the count, the exit-code
histogram, the failures (should be none), the slowest case, the peak memory of the run (which includes what
hypothesis keeps of the cases it generated) and the most one case raised it, and the total time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fuzz_inputs import HARD_LIMIT, cases, run_case  # noqa: E402 - after the path set-up
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

KEYS = ("GROQ_", "OPENAI_", "HF_", "POLLINATIONS_", "AUTOSTREAM_", "HUGGING")  # as tests/conftest.py clears


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fuzz(count: int, seed_value: int) -> dict:
    """Run `count` generated cases; the figures for the results file."""
    codes: dict[str, Counter] = {"status": Counter(), "expand": Counter()}
    failures: list[dict] = []
    slowest = (0.0, "")
    rise = (0.0, "")  # the most one case raised the process's peak memory
    done = 0
    started = time.perf_counter()

    @seed(seed_value)
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],  # no shrinking: every failure is recorded as found
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def one(case) -> None:
        nonlocal done, slowest, rise
        before = _peak_mb()
        outcome = run_case(case)
        if _peak_mb() - before > rise[0]:
            rise = (_peak_mb() - before, repr(case))
        done += 1
        for command, code in outcome.exit_codes.items():
            codes[command][str(code)] += 1
        if outcome.seconds > slowest[0]:
            slowest = (outcome.seconds, repr(case))
        if outcome.violations:
            files = {name: data[:3000].decode("utf-8", errors="replace") for name, data in case.files}
            failures.append({"case": repr(case), "violations": outcome.violations, "files": files})
        if done % 500 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"{done:6} cases  {len(failures)} failures  {rate:.1f} cases/s", flush=True)

    one()
    total = time.perf_counter() - started
    return {
        "recorded": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "machine": f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}",
        "seed": seed_value,
        "count": done,
        "commands": ["status", "expand"],
        "exit_codes": {command: dict(sorted(c.items())) for command, c in codes.items()},
        "failures": len(failures),
        "failed_cases": failures[:50],
        "slowest_case_seconds": round(slowest[0], 3),
        "slowest_case": slowest[1],
        "hard_limit_seconds": HARD_LIMIT,
        "peak_memory_mb": round(_peak_mb(), 1),  # the whole run, hypothesis' memory of its cases included
        "largest_case_rise_mb": round(rise[0], 1),
        "largest_case_rise": rise[1],
        "total_seconds": round(total, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="cases to generate (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz.json")
    args = parser.parse_args()
    for name in list(os.environ):
        if name.startswith(KEYS):
            del os.environ[name]  # no key: a topic spec fails with the missing-key error, never reaches a network
    figures = fuzz(args.count, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"{figures['count']} cases, {figures['failures']} failures; exit codes {figures['exit_codes']}; "
        f"slowest {figures['slowest_case_seconds']} s; peak {figures['peak_memory_mb']} MB; "
        f"{figures['total_seconds']} s in all -> {args.out}"
    )
    sys.exit(1 if figures["failures"] else 0)


if __name__ == "__main__":
    main()
