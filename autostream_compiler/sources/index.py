"""The library of documents: chunks and their vectors in LanceDB, searched by keywords and meaning.

Embedders turn texts into L2-normalised float32 vectors: `wordllama` (weights inside its wheel, never
a download), a local model folder (sentence-transformers or fastembed), or an OpenAI-compatible
`/embeddings` endpoint. A `Library` keeps one LanceDB table per (document digest, embedder, chunks):
rows do not name the file, so specs that name one document differently share its table. Vectors are
cached by chunk text in SQLite, so re-indexing an edited document embeds only the chunks that changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from autostream_compiler.digests import digest
from autostream_compiler.env import public_url
from autostream_compiler.errors import AutostreamError, BuildError, UserError, write_failed

if TYPE_CHECKING:
    from autostream_compiler.sources.documents import Document, Passage

DOCS_EXTRA = "pip install 'autostream-compiler[docs]'"
RRF_K = 60  # reciprocal rank fusion: score = sum of 1 / (RRF_K + rank)
BATCH = 256  # texts per embedding call: bounds memory and request size
TABLE_VERSION = 1  # bump when the table's columns or the way it is filled change


class Embedder(Protocol):
    """Texts in, one L2-normalised float32 vector per text out."""

    id: str  # what the lock records: name, version and dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 array (len(texts), dim), each row of length 1."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 as float32 (a zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors.reshape(1, -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


# --- embedders ---------------------------------------------------------------------------------


class WordLlamaEmbedder:
    """wordllama's 256-dimension model, loaded from the weights its wheel ships."""

    def __init__(self):
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError:
            raise UserError(f"retrieval.embedder wordllama is not installed; {DOCS_EXTRA}") from None
        from importlib.metadata import version

        self._model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
        self.id = f"wordllama {version('wordllama')} l2_supercat 256"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 256), dtype=np.float32)
        return normalise(self._model.embed(list(texts), norm=True))


class FolderEmbedder:
    """A sentence-transformers or fastembed model in a local folder."""

    def __init__(self, folder: Path, written: str):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            SentenceTransformer = None
        if SentenceTransformer is not None:
            model = _load_model(written, lambda: SentenceTransformer(str(folder), device="cpu"))
            self._encode = lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True)
            library = "sentence-transformers"
        else:
            try:
                from fastembed import TextEmbedding
            except ImportError:
                raise UserError(
                    f"retrieval.embedder {written}: reading a model folder needs sentence-transformers or fastembed; "
                    "pip install sentence-transformers (or fastembed), or use `embedder: wordllama`"
                ) from None
            supported = [entry["model"] for entry in TextEmbedding.list_supported_models()]
            name = fastembed_model_name(folder, supported)
            if name is None:
                raise UserError(
                    f"retrieval.embedder {written}: fastembed knows no model named like {folder.name!r}; "
                    "name the folder after one of its models (e.g. bge-small-en-v1.5) or install sentence-transformers"
                )
            model = _load_model(
                written, lambda: TextEmbedding(model_name=name, specific_model_path=str(folder), threads=2)
            )
            self._encode = lambda texts: np.array(list(model.embed(texts)))
            library = "fastembed"
        self._folder = folder
        dim = int(normalise(self._encode(["dimension"])).shape[1])
        self._dim = dim
        self.id = f"{library} {folder.name} {dim} {_folder_digest(folder)[:16]}"  # another model: another index

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return normalise(self._encode(list(texts)))


def _folder_digest(folder: Path) -> str:
    """The digest of a model folder's files (each read again only when it changed)."""
    from autostream_compiler.digests import digest, stat_digest

    return digest({f.relative_to(folder).as_posix(): stat_digest(f) for f in sorted(folder.rglob("*")) if f.is_file()})


def fastembed_model_name(folder: Path, supported: list[str]) -> str | None:
    """The fastembed model a folder holds (fastembed needs its name): the one its config.json's
    `_name_or_path` or the folder's own name ends with, ignoring case and `-onnx`/`-q` suffixes."""
    import json

    hints = [folder.name]
    try:
        hints.insert(0, str(json.loads((folder / "config.json").read_text(encoding="utf-8")).get("_name_or_path", "")))
    except (OSError, ValueError, AttributeError):
        pass

    def bare(name: str) -> str:
        name = name.lower().rstrip("/").rsplit("/", 1)[-1].removesuffix("-q").removesuffix("-onnx")
        return name.removeprefix("fast-")

    for hint in filter(None, map(bare, hints)):
        for model in sorted(supported):
            if bare(model) == hint:
                return model
    return None


def _load_model(written: str, load):
    """A model from its folder, or one line saying the folder holds none."""
    try:
        return load()
    except Exception as exc:  # each library has its own errors for a folder that is not a model
        detail = " ".join(str(exc).split())[:160]
        raise UserError(f"retrieval.embedder {written}: not a model folder ({detail}); check the path") from None


class OpenAIEmbedder:
    """An OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, llama.cpp) through the openai SDK."""

    def __init__(self, model: str, base_url: str | None, timeout: float, max_retries: int):
        import openai

        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        key = os.environ.get("OPENAI_API_KEY")
        if not key and not base_url:
            raise UserError(
                f"retrieval.embedder openai:{model}: OPENAI_API_KEY is not set; set it, "
                "or give a local server's base_url (Ollama: http://127.0.0.1:11434/v1)"
            )
        self._sdk = openai
        self._client = openai.OpenAI(
            api_key=key or "no-key", base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self._model, self._timeout, self._retries = model, timeout, max_retries
        self.id = f"openai:{model} at {public_url(str(self._client.base_url))}"  # the same name elsewhere differs

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            reply = self._client.embeddings.create(model=self._model, input=list(texts), encoding_format="float")
        except self._sdk.APIError as exc:
            raise self._error(exc) from None
        rows = sorted(reply.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise BuildError(f"{self._where()} returned {len(rows)} vectors for {len(texts)} texts; check the server")
        return normalise(np.array([row.embedding for row in rows], dtype=np.float32))

    def _where(self) -> str:
        return f"embeddings {self._model!r} at {public_url(str(self._client.base_url))}"

    def _error(self, exc: Exception) -> AutostreamError:
        from autostream_compiler.providers.llm import api_error

        return api_error(
            exc,
            self._sdk,
            self._where(),
            self._retries,
            self._timeout,
            key="OPENAI_API_KEY",
            missing="has no such model (HTTP 404); fix `retrieval.embedder` in the spec",
            slow="try again later",
            settings="`retrieval.base_url`",
        )


def open_embedder(
    name: str, spec_dir: Path, base_url: str | None = None, *, timeout: float = 60.0, max_retries: int = 2
) -> Embedder:
    """The embedder a spec names: `wordllama`, `openai:MODEL`, or a model folder relative to the spec."""
    if name == "wordllama":
        return WordLlamaEmbedder()
    if name.startswith("openai:"):
        model = name.split(":", 1)[1].strip()
        if not model:
            raise UserError(
                "retrieval.embedder openai: names no model; write openai:MODEL (e.g. openai:nomic-embed-text)"
            )
        return OpenAIEmbedder(model, base_url, timeout, max_retries)
    folder = (Path(spec_dir) / name).resolve()
    if not folder.is_dir():
        raise UserError(
            f"retrieval.embedder {name}: no model folder at {folder}; use wordllama, openai:MODEL "
            "or the path of a sentence-transformers/fastembed model folder"
        )
    return FolderEmbedder(folder, name)


# --- the library -------------------------------------------------------------------------------


def table_name(document_digest: str, embedder_id: str, passages: list[Passage]) -> str:
    """The table holding a document's chunks for one embedder and one chunking."""
    chunks = digest([TABLE_VERSION, [[p.page, p.heading, p.text] for p in passages]])
    embedder = hashlib.sha256(embedder_id.encode("utf-8")).hexdigest()
    return f"doc-{document_digest[:24]}-{embedder[:12]}-{chunks[:12]}"


def text_key(text: str) -> str:
    """The vector cache's key for a chunk text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fuse(rankings: list[list[str]], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion of ranked id lists: best first, ties by id."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, ident in enumerate(ranking, start=1):
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda ident: (-scores[ident], ident))


class Library:
    """Documents' chunks and vectors under `root` (LanceDB), searched by keywords and by meaning."""

    def __init__(self, root: Path, embedder: Embedder):
        self.root = Path(root)
        self.embedder = embedder
        self._db = None
        self._tables: dict[str, object] = {}  # open LanceDB tables, by name (warm queries)
        self._documents: dict[tuple, tuple[str, list[Passage]]] = {}  # document -> (table, its passages)
        self._guard = threading.Lock()

    @property
    def _lance(self) -> Path:
        return self.root / "lance"

    def indexed(self, document: Document, passages: list[Passage]) -> bool:
        """Whether the library already holds these passages of this document for this embedder (for
        `status`: add() then costs nothing)."""
        name = table_name(document.digest, self.embedder.id, passages)
        return not passages or (self._lance / f"{name}.lance").is_dir()

    def add(self, document: Document, passages: list[Passage]) -> None:
        """Index a document's passages, unless a table for this document, embedder and chunking exists."""
        name = table_name(document.digest, self.embedder.id, passages)
        with self._guard:
            self._documents[_document_key(document)] = (name, list(passages))
            if not passages or name in self._tables:
                return
            path = self._lance / f"{name}.lance"
            if not path.is_dir():
                try:
                    with _file_lock(self.root / "locks" / f"{name}.lock"):
                        if not path.is_dir():  # another process may have built it while we waited
                            self._build(name, passages)
                except OSError as exc:
                    raise write_failed(f"{document.file}: its index in {self.root}", exc) from None
            self._tables[name] = self._connect().open_table(name)

    def search(self, query: str, top_k: int, documents: list[Document]) -> list[Passage]:
        """The `top_k` passages of `documents` that best match `query`: full-text (BM25) and vector
        rankings fused by reciprocal rank; deterministic, ties by id. Each document must be added first."""
        entries: dict[str, list[Passage]] = {}
        for document in documents:
            found = self._documents.get(_document_key(document))
            if found is None:
                raise ValueError(f"{document.file}: not in the library; add() it before searching")
            name, passages = found
            if passages:
                entries.setdefault(f"{name}/{document.file}", passages)
        if top_k <= 0 or not entries or not query.strip():
            return []
        from lancedb.query import MatchQuery

        vector = self._vectors([query])[0]  # a query seen before costs no embedding (nor a server call)
        limit = max(3 * top_k, 24)
        dense: list[tuple[float, str]] = []
        sparse: list[tuple[float, str]] = []
        by_id: dict[str, Passage] = {}
        for entry, passages in entries.items():
            table = self._tables[entry.split("/", 1)[0]]
            hits = (
                table.search(vector, query_type="vector", vector_column_name="vector")
                .distance_type("cosine")
                .select(["seq", "_distance"])
                .limit(limit)
                .to_arrow()
                .to_pydict()
            )
            for seq, distance in zip(hits["seq"], hits["_distance"]):
                dense.append((round(distance, 6), passages[seq].id))
                by_id[passages[seq].id] = passages[seq]
            hits = (
                table.search(MatchQuery(query, "text"), query_type="fts")
                .select(["seq", "_score"])
                .limit(limit)
                .to_arrow()
                .to_pydict()
            )
            for seq, score in zip(hits["seq"], hits["_score"]):
                sparse.append((-round(score, 6), passages[seq].id))
                by_id[passages[seq].id] = passages[seq]
        rankings = [[ident for _, ident in sorted(ranked)][:limit] for ranked in (dense, sparse)]
        return [by_id[ident] for ident in fuse(rankings)[:top_k]]

    def _connect(self):
        if self._db is None:
            try:
                import lancedb
            except ImportError:
                raise UserError(f"documents as sources need LanceDB; {DOCS_EXTRA}") from None
            self._lance.mkdir(parents=True, exist_ok=True)
            self._db = lancedb.connect(str(self._lance))
        return self._db

    def _build(self, name: str, passages: list[Passage]) -> None:
        """Write the table under a temporary name, index its text, then rename its folder into place:
        a reader sees the whole table or none (the caller holds the table's lock)."""
        import pyarrow as pa
        from lancedb.index import FTS

        db = self._connect()
        for stale in self._lance.glob(f"{name}--tmp-*.lance"):  # a killed builder's (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        vectors = self._vectors([p.text for p in passages])
        dim = vectors.shape[1]
        data = pa.table(
            {
                "seq": pa.array(range(len(passages)), pa.int32()),
                "page": pa.array([p.page for p in passages], pa.int32()),
                "heading": pa.array([p.heading for p in passages], pa.string()),
                "text": pa.array([p.text for p in passages], pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim),
            }
        )
        temp = f"{name}--tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            table = db.create_table(temp, data)
            table.create_index("text", config=FTS())
            del table
            os.rename(self._lance / f"{temp}.lance", self._lance / f"{name}.lance")
        except BaseException:
            shutil.rmtree(self._lance / f"{temp}.lance", ignore_errors=True)
            raise

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """One vector per text: from the cache when this embedder embedded that text before, else embedded
        now (each distinct text once) and cached."""
        keys = [text_key(text) for text in texts]
        found = _VectorCache(self.root / "vectors.sqlite", self.embedder.id).get(keys)
        missing = {key: text for key, text in zip(keys, texts) if key not in found}
        if missing:
            todo = list(missing.items())
            fresh: dict[str, np.ndarray] = {}
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                vectors = normalise(self.embedder.embed([text for _, text in batch]))
                fresh.update({key: vectors[i] for i, (key, _) in enumerate(batch)})
            _VectorCache(self.root / "vectors.sqlite", self.embedder.id).put(fresh)
            found.update(fresh)
        return np.stack([found[key] for key in keys]).astype(np.float32)


def _document_key(document: Document) -> tuple:
    """What tells two added documents apart: the name the spec gives it, its bytes, its selected pages."""
    return (document.file, document.digest, tuple(page.number for page in document.pages))


class _VectorCache:
    """Vectors by (embedder id, sha256 of the text) in SQLite: shared by processes, written in transactions."""

    def __init__(self, path: Path, embedder_id: str):
        self.path, self.embedder_id = path, embedder_id

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=60)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, key TEXT, vector BLOB, "
                "PRIMARY KEY (embedder, key)) WITHOUT ROWID"
            )
            yield db

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `keys`."""
        found: dict[str, np.ndarray] = {}
        unique = sorted(set(keys))
        with self._connection() as db:
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                rows = db.execute(
                    f"SELECT key, vector FROM vectors WHERE embedder = ? AND key IN ({','.join('?' * len(part))})",
                    [self.embedder_id, *part],
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors (a key already there keeps its vector)."""
        with self._connection() as db, db:
            db.executemany(
                "INSERT OR IGNORE INTO vectors (embedder, key, vector) VALUES (?, ?, ?)",
                [(self.embedder_id, key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()],
            )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
