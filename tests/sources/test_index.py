"""The library of documents: wordllama vectors, hybrid search, vectors reused across edits, embedder errors."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from helpers import LocalServer

from autostream_compiler.errors import BuildError, UserError

pytest.importorskip("lancedb", reason="needs the docs extra (pip install -e '.[docs]')")
pytest.importorskip("wordllama", reason="needs the docs extra (pip install -e '.[docs]')")

from autostream_compiler.sources.index import (  # noqa: E402
    Library,
    fastembed_model_name,
    fuse,
    open_embedder,
    table_name,
)


@dataclass(frozen=True)
class Page:
    number: int
    text: str


@dataclass
class Document:
    file: str
    path: Path
    digest: str
    kind: str
    pages: list[Page]
    headings: list = field(default_factory=list)


@dataclass(frozen=True)
class Passage:
    id: str
    file: str
    page: int
    heading: str | None
    text: str


PAGES = [
    "Volcanoes form where magma rises through cracks in the crust and erupts as lava and ash.",
    "Glaciers are slow rivers of ice that carve valleys as they move downhill over centuries.",
    "Coral reefs grow in warm shallow seas; tiny animals build them from calcium carbonate.",
    "The honeybee dances to tell its hive where the flowers with nectar are found.",
    "Deserts receive less than twenty-five centimetres of rain a year and have sparse plants.",
    "Tides rise and fall twice a day because the moon's gravity pulls on the oceans.",
]


def document(file: str, pages: list[str]) -> tuple[Document, list[Passage]]:
    """A document of one passage per page, named as a spec would write it."""
    data = "\n\f".join(pages).encode()
    doc = Document(
        file, Path(file), hashlib.sha256(data).hexdigest(), "text", [Page(i + 1, t) for i, t in enumerate(pages)]
    )
    stem = Path(file).stem
    return doc, [Passage(f"{stem}-p{i + 1}-1", file, i + 1, None, text) for i, text in enumerate(pages)]


class Counting:
    """The real wordllama embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.id, self.texts = inner, inner.id, []

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def wordllama():
    return open_embedder("wordllama", Path("."))


def test_wordllama_vectors_are_unit_length_and_deterministic(wordllama):
    first = wordllama.embed(["lava flows downhill", "bees dance"])
    again = open_embedder("wordllama", Path(".")).embed(["lava flows downhill", "bees dance"])
    assert first.dtype == np.float32 and first.shape == (2, 256)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, again)
    assert wordllama.id.startswith("wordllama 0.") and wordllama.id.endswith(" 256")


def test_search_finds_keywords_and_paraphrases(tmp_path, wordllama):
    doc, passages = document("notes/nature.txt", PAGES)
    library = Library(tmp_path / "sources", wordllama)
    library.add(doc, passages)
    assert library.search("honeybee hive", 1, [doc])[0].page == 4  # the query's own words (BM25)
    assert library.search("molten rock from a mountain", 1, [doc])[0].page == 1  # no shared word (vectors)
    assert library.search("moon gravity oceans", 3, [doc])[0].id == "nature-p6-1"
    assert len(library.search("ice", 4, [doc])) == 4
    assert library.search("ice", 0, [doc]) == []


def test_order_is_deterministic_across_libraries(tmp_path, wordllama):
    doc, passages = document("nature.txt", PAGES)
    other, other_passages = document("more.txt", [text.replace("the", "a") for text in PAGES[::-1]])
    orders = []
    for _ in range(2):
        library = Library(tmp_path / "sources", wordllama)
        library.add(doc, passages)
        library.add(other, other_passages)
        orders.append([p.id for p in library.search("water and ice in the sea", 8, [doc, other])])
    assert orders[0] == orders[1] and len(orders[0]) == 8
    assert {p.split("-")[0] for p in orders[0]} == {"nature", "more"}  # both documents searched


def test_fusion_adds_reciprocal_ranks_and_breaks_ties_by_id():
    assert fuse([["b", "a", "c"], ["a", "c"]]) == ["a", "c", "b"]
    assert fuse([["b", "a"], ["a", "b"]]) == ["a", "b"]  # equal scores: by id
    assert fuse([]) == []


def test_an_unchanged_document_is_not_indexed_again(tmp_path, wordllama):
    doc, passages = document("nature.txt", PAGES)
    counting = Counting(wordllama)
    first = Library(tmp_path / "sources", counting)
    assert not first.indexed(doc, passages)
    first.add(doc, passages)
    assert sorted(counting.texts) == sorted(PAGES)
    counting.texts.clear()
    library = Library(tmp_path / "sources", counting)  # another build, same cache
    assert library.indexed(doc, passages)
    library.add(doc, passages)
    assert counting.texts == []
    assert library.search("tides", 1, [doc])[0].page == 6


def test_one_edited_page_embeds_only_its_new_text(tmp_path, wordllama):
    doc, passages = document("nature.txt", PAGES)
    counting = Counting(wordllama)
    Library(tmp_path / "sources", counting).add(doc, passages)
    counting.texts.clear()
    edited_pages = [*PAGES[:3], "The bumblebee hums from flower to flower gathering pollen.", *PAGES[4:]]
    edited, edited_passages = document("nature.txt", edited_pages)
    library = Library(tmp_path / "sources", counting)
    library.add(edited, edited_passages)
    assert counting.texts == [edited_pages[3]]
    found = library.search("bumblebee pollen", 1, [edited])[0]
    assert (found.page, found.text) == (4, edited_pages[3])


def test_one_document_under_two_names_keeps_each_callers_name(tmp_path, wordllama):
    first, first_passages = document("report.txt", PAGES)
    second, second_passages = document("docs/copy-of-report.txt", PAGES)
    counting = Counting(wordllama)
    library = Library(tmp_path / "sources", counting)
    library.add(first, first_passages)
    library.add(second, second_passages)
    assert len(counting.texts) == len(PAGES)  # one table, shared
    assert {p.file for p in library.search("glaciers", 2, [second])} == {"docs/copy-of-report.txt"}
    assert library.search("glaciers", 1, [first])[0].file == "report.txt"


def test_two_builders_at_once_index_a_document_once(tmp_path, wordllama):
    doc, passages = document("nature.txt", PAGES)
    counting = Counting(wordllama)
    libraries = [Library(tmp_path / "sources", counting) for _ in range(3)]
    threads = [threading.Thread(target=library.add, args=(doc, passages)) for library in libraries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counting.texts) == sorted(PAGES)
    assert all(library.search("coral reefs", 1, [doc])[0].page == 3 for library in libraries)
    assert not list((tmp_path / "sources" / "lance").glob("*tmp*"))


def test_searching_a_document_never_added_says_so(tmp_path, wordllama):
    doc, _ = document("nature.txt", PAGES)
    with pytest.raises(ValueError, match="nature.txt: not in the library"):
        Library(tmp_path / "sources", wordllama).search("ice", 3, [doc])


class FakeEmbeddings(LocalServer):
    """An OpenAI-compatible /v1/embeddings server: deterministic 8-d vectors made from each text's words."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                fake.requests.append({"path": self.path, "auth": self.headers.get("authorization"), **body})
                time.sleep(delay)
                if status != 200:
                    payload = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
                else:
                    vectors = [_word_vector(text) for text in body["input"]]
                    payload = {
                        "object": "list",
                        "model": body["model"],
                        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        super().__init__(Handler)


def _word_vector(text: str) -> list[float]:
    """A bag of words hashed into 8 buckets (unnormalised, so the client must normalise)."""
    vector = [0.0] * 8
    for word in text.lower().split():
        vector[hashlib.sha256(word.strip(".;,'").encode()).digest()[0] % 8] += 3.0
    return vector


def test_openai_compatible_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-1234")
    with FakeEmbeddings() as server:
        embedder = open_embedder("openai:nomic-embed-text", tmp_path, base_url=f"{server.root}/v1")
        vectors = embedder.embed(["lava and ash", "ice"])
        assert embedder.id == f"openai:nomic-embed-text at {server.root}/v1/"  # the server is part of it
        assert vectors.shape == (2, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
        assert np.allclose(
            vectors[0], np.array(_word_vector("lava and ash")) / np.linalg.norm(_word_vector("lava and ash"))
        )
        request = server.requests[0]
        assert (request["path"], request["model"], request["input"]) == (
            "/v1/embeddings",
            "nomic-embed-text",
            ["lava and ash", "ice"],
        )
        assert request["auth"] == "Bearer sk-test-secret-1234"
        doc, passages = document("nature.txt", PAGES)
        library = Library(tmp_path / "sources", embedder)
        library.add(doc, passages)
        assert library.search("honeybee", 1, [doc])[0].page == 4


def test_openai_endpoint_refusing_the_key_is_one_line_without_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-1234")
    with FakeEmbeddings(status=401) as server:
        embedder = open_embedder("openai:text-embedding-3-small", tmp_path, base_url=f"{server.root}/v1", max_retries=0)
        with pytest.raises(UserError) as caught:  # the user's key: exit 2, as for the language model
            embedder.embed(["ice"])
    message = str(caught.value)
    assert "\n" not in message and "sk-test-secret" not in message
    assert "refused the API key (HTTP 401)" in message and "OPENAI_API_KEY" in message


def test_openai_endpoint_timing_out_is_one_line(tmp_path):
    with FakeEmbeddings(delay=1.0) as server:
        embedder = open_embedder("openai:m", tmp_path, base_url=f"{server.root}/v1", timeout=0.2, max_retries=0)
        with pytest.raises(BuildError, match=r"did not answer within 0.2 s \(0 retries\); try again later$"):
            embedder.embed(["ice"])


def test_embedder_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UserError, match=r"no model folder at .*models/minilm; use wordllama, openai:MODEL") as caught:
        open_embedder("models/minilm", tmp_path)
    assert "\n" not in str(caught.value)
    (tmp_path / "models" / "minilm").mkdir(parents=True)
    if not any(importlib.util.find_spec(name) for name in ("sentence_transformers", "fastembed")):
        with pytest.raises(UserError, match="pip install sentence-transformers"):
            open_embedder("models/minilm", tmp_path)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        open_embedder("openai:text-embedding-3-small", tmp_path)
    with pytest.raises(UserError, match="names no model"):
        open_embedder("openai:", tmp_path)


def test_a_killed_builders_half_table_is_never_read_and_is_cleared(tmp_path, wordllama):
    doc, passages = document("nature.txt", PAGES)
    library = Library(tmp_path / "sources", wordllama)
    name = table_name(doc.digest, wordllama.id, passages)
    half = tmp_path / "sources" / "lance" / f"{name}--tmp-999999-deadbeef.lance"
    (half / "data").mkdir(parents=True)
    assert not library.indexed(doc, passages)
    library.add(doc, passages)
    assert not half.exists()
    assert library.search("desert rain", 1, [doc])[0].page == 5


ADD_IN_A_PROCESS = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_index import Counting, PAGES, document
from autostream_compiler.sources.index import Library, open_embedder
counting = Counting(open_embedder("wordllama", Path(".")))
library = Library(Path(sys.argv[1]), counting)
doc, passages = document("nature.txt", PAGES)
while time.time() < float(sys.argv[3]):
    time.sleep(0.01)
library.add(doc, passages)
print(len(counting.texts), library.search("honeybee", 1, [doc])[0].page)
"""


def test_two_processes_indexing_one_document_at_once(tmp_path):
    start = time.time() + 4  # both past their imports, then adding at the same moment
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), str(Path(__file__).parents[1])]),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_IN_A_PROCESS, str(tmp_path / "sources"), str(Path(__file__).parent), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    counts = sorted(int(out.split()[0]) for out, _ in outputs)
    assert counts == [0, len(PAGES)]  # one built the table, the other waited and used it
    assert all(out.split()[1] == "4" for out, _ in outputs)


def test_a_fastembed_folder_is_named_after_its_model(tmp_path):
    supported = ["BAAI/bge-small-en-v1.5", "sentence-transformers/all-MiniLM-L6-v2", "nomic-ai/nomic-embed-text-v1.5"]
    assert fastembed_model_name(tmp_path / "bge-small-en-v1.5-onnx-q", supported) == "BAAI/bge-small-en-v1.5"
    folder = tmp_path / "mymodel"
    folder.mkdir()
    assert fastembed_model_name(folder, supported) is None
    (folder / "config.json").write_text('{"_name_or_path": "sentence-transformers/all-MiniLM-L6-v2"}')
    assert fastembed_model_name(folder, supported) == "sentence-transformers/all-MiniLM-L6-v2"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_cache_folder_that_cannot_be_written_is_one_line(tmp_path, wordllama):
    doc, passages = document("nature.txt", PAGES)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache").chmod(0o500)
    try:
        with pytest.raises(UserError, match=r"^nature.txt: its index in .*cache/sources: cannot write there") as caught:
            Library(tmp_path / "cache" / "sources", wordllama).add(doc, passages)
    finally:
        (tmp_path / "cache").chmod(0o700)
    assert "\n" not in str(caught.value)
