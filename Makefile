# Two commands on a fresh machine: `make demo` builds the offline example, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EXAMPLE := specs/examples/volcano-script.yaml

.PHONY: demo test bench schemas clean ffprobe

$(BIN)/autostream: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/autostream
	$(BIN)/autostream build $(EXAMPLE) -o out/volcano-script.mp4 --report out/volcano-script.report.json

# The tests check videos with ffprobe, which the imageio-ffmpeg wheel does not carry.
ffprobe:
	@command -v ffprobe >/dev/null || { command -v apt-get >/dev/null && \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg; } || \
	  { echo "make test needs ffprobe: install ffmpeg with your package manager" >&2; exit 1; }

test: $(BIN)/autostream ffprobe
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

bench: $(BIN)/autostream
	$(BIN)/python benchmarks/build_bench.py

schemas: $(BIN)/autostream
	$(BIN)/python -m autostream_compiler.specfile.schema

clean:
	rm -rf out specs/examples/.autostream specs/examples/out
