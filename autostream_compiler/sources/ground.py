"""Grounding: a spec's `sources` read, chunked and indexed (cached by digest under the build cache),
searched for the topic or each scene, and the citations the scenes carry into the lock.

Three ways a spec meets its documents:
- a `topic` with a model: the passages retrieved for the topic go into the prompt with their ids,
  and the model cites ids per scene (checked and sent back for repair in `expand.llm`);
- a `topic` with `llm.provider: offline`: the scenes are written from the documents themselves
  (`extractive_drafts`: key sentences of the passages most relevant to the topic, in the order of
  the documents and their headings, at the style's pacing and target length);
- a `script` or `scenes`: each scene cites the passages that match its narration best.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from autostream_compiler.atomic import write_if_changed
from autostream_compiler.digests import digest
from autostream_compiler.engine.recipe import version_of
from autostream_compiler.errors import UserError
from autostream_compiler.expand.offline import sentences
from autostream_compiler.expand.scenegraph import Citation
from autostream_compiler.specfile.models import SourceSpec, Spec

EXTRACTIVE_VERSION = 1  # bump when the extractive writer picks other sentences from the same passages
DOCS_EXTRA = "pip install 'autostream-compiler[docs]'"
_STOP = frozenset(
    "a an and are as at be been but by for from has have he her his how in into is it its of on or our "
    "she that the their them then there these they this those to was were what when where which who why "
    "will with you your not no do does did can could would should may might than so such also about".split()
)


def source_refs(spec: Spec) -> list:
    """The spec's `sources` as SourceRefs (file as written, pages)."""
    from autostream_compiler.sources.documents import SourceRef

    refs = []
    for entry in spec.sources or []:
        if isinstance(entry, SourceSpec):
            refs.append(SourceRef(entry.path, entry.pages))
        else:
            refs.append(SourceRef(entry, None))
    return refs


@dataclass
class Grounding:
    """A spec's documents, read and chunked: what scenes can cite. The index (embedder and LanceDB) is
    opened only when a search is not in the cache of searches, so a build whose documents and queries
    did not change loads neither."""

    documents: list
    passages: list  # every passage of every document, in document order
    root: Path
    settings: dict  # the spec's embedder, its server, the versions of the libraries that embed
    top_k: int
    opener: Callable[[], object]  # -> (embedder, library with every document added)
    _index: tuple | None = None

    def fingerprint(self) -> dict:
        """What citations depend on: the documents' bytes and pages, the embedder, top_k."""
        return {
            "documents": [[d.file, d.digest, [p.number for p in d.pages]] for d in self.documents],
            "embedder": self.settings,
            "top_k": self.top_k,
        }

    @property
    def embedder(self) -> str:
        """The embedder's id (name, version, size; its model's files or server), for the lock."""
        return self._opened()[0].id

    def _opened(self) -> tuple:
        if self._index is None:
            self._index = self.opener()
        return self._index

    def search(self, query: str, top_k: int | None = None) -> list:
        """The passages that answer `query` best (hybrid: full-text and vectors, fused by rank); a
        search made before over the same documents is read back from the cache."""
        top_k = top_k or self.top_k
        saved = self.root / "searches" / f"{digest({'query': query, 'top_k': top_k, **self.fingerprint()})}.json"
        by_id = {p.id: p for p in self.passages}
        try:
            ids = json.loads(saved.read_text(encoding="utf-8"))
            if all(i in by_id for i in ids):
                return [by_id[i] for i in ids]
        except (OSError, ValueError, TypeError):
            pass
        found = self._opened()[1].search(query, top_k, self.documents)
        try:
            saved.parent.mkdir(parents=True, exist_ok=True)
            write_if_changed(saved, json.dumps([p.id for p in found]))
        except OSError:
            pass  # a cache that cannot be written only costs the next search its time
        return found


def ground(spec: Spec, spec_dir: Path, root: Path, log: Callable[[str], None] = lambda _: None) -> Grounding:
    """Read and chunk the spec's sources; they are indexed when a search first needs it (an unchanged
    document is never indexed again)."""
    try:
        from autostream_compiler.sources.documents import chunk, document_stem, page_ranges, read_document
    except ImportError as exc:
        raise UserError(f"`sources` need the docs extra ({exc.name} is missing): {DOCS_EXTRA}") from None
    documents, passages, pieces_of = [], [], []
    stems: dict[str, int] = {}
    for ref in source_refs(spec):
        document = read_document(spec_dir, ref, root / "downloads")
        stem = document_stem(ref.file)
        stems[stem] = stems.get(stem, 0) + 1
        pieces = chunk(document, stem=stem if stems[stem] == 1 else f"{stem}{stems[stem]}")
        documents.append(document)
        pieces_of.append(pieces)
        passages += pieces
        if document.blank_pages:
            log(f"warning: {ref.file}: no text on pages {page_ranges(document.blank_pages)} (scanned?); not cited")

    def opener() -> tuple:
        try:
            from autostream_compiler.sources.index import Library, open_embedder
        except ImportError as exc:
            raise UserError(f"`sources` need the docs extra ({exc.name} is missing): {DOCS_EXTRA}") from None
        embedder = open_embedder(spec.retrieval.embedder, spec_dir, spec.retrieval.base_url)
        library = Library(root, embedder)
        for document, pieces in zip(documents, pieces_of):
            library.add(document, pieces)
        return embedder, library

    settings = {
        "name": spec.retrieval.embedder,
        "base_url": spec.retrieval.base_url,
        "engines": [version_of(d) for d in ("wordllama", "lancedb", "sentence-transformers", "fastembed")],
    }
    return Grounding(documents, passages, root, settings, spec.retrieval.top_k, opener)


def citation(passage) -> Citation:
    return Citation(file=passage.file, page=passage.page, text=passage.text)


def passages_prompt(passages: list) -> str:
    """The retrieved passages as the model sees them: one per line, with its id, file and page."""
    lines = [f"[{p.id}] ({p.file}, p. {p.page}) {' '.join(p.text.split())}" for p in passages]
    return (
        "Ground the video in these passages of the user's documents. Every scene must cite, in `sources`, "
        "the ids of the passages it is based on (at least one); use only these ids and state nothing the "
        "passages do not support.\n" + "\n".join(lines)
    )


# --- scenes written by the user: cite what matches ------------------------------------------------


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOP}


def cite(grounding: Grounding, narration: str, most: int = 2) -> list[Citation]:
    """The passages that back a narration: the best matches that share its content words (a scene with
    nothing in common with the documents cites nothing)."""
    words = _content_words(narration)
    found = []
    for passage in grounding.search(narration):
        shared = words & _content_words(passage.text)
        if len(shared) >= min(2, len(words)):
            found.append(citation(passage))
        if len(found) == most:
            break
    return found


# --- a topic with no model: the scenes written from the documents -----------------------------------


def extractive_inputs(spec: Spec, grounding: Grounding, goal) -> dict:
    """What the extractive writer reads (its expansion digest)."""
    return {
        "provider": "offline",
        "extractive": EXTRACTIVE_VERSION,
        "topic": " ".join((spec.topic or "").split()),
        "targets": asdict(goal),
        "sources": grounding.fingerprint(),
    }


def extractive_scenes(topic: str, grounding: Grounding, target_words: int, scene_words: int) -> list[tuple]:
    """(narration, visual, citations) of scenes written from the documents: the passages most relevant
    to the topic (hybrid retrieval) taken until the target length is reached, put back in the order
    of the documents, and from each its key sentences (those sharing most words with the topic and
    the passage's section, the first sentence first); scenes are cut at about `scene_words` words and
    never across a section."""
    order = {p.id: n for n, p in enumerate(grounding.passages)}
    ranked = grounding.search(topic, top_k=max(grounding.top_k, 4 * max(1, target_words // max(scene_words, 1))))
    if not ranked:
        raise UserError(
            f"sources: nothing in the documents matches the topic {topic!r}; change the topic or the sources"
        )
    topic_words = _content_words(topic)
    chosen, words = [], 0
    for passage in ranked:
        picked = _key_sentences(passage, topic_words, max(scene_words, 12))
        if not picked:
            continue
        chosen.append((passage, picked))
        words += sum(len(s.split()) for s in picked)
        if words >= target_words:
            break
    chosen.sort(key=lambda item: order.get(item[0].id, 0))
    scenes: list[tuple] = []
    current: list[str] = []
    cited: list = []
    section = None
    for passage, picked in chosen:
        for sentence in picked:
            if current and (passage.heading != section or len(" ".join(current).split()) >= scene_words):
                scenes.append(_scene_of(current, cited, section))
                current, cited = [], []
            current.append(sentence)
            section = passage.heading
            if passage not in cited:
                cited.append(passage)
    if current:
        scenes.append(_scene_of(current, cited, section))
    return scenes


def _key_sentences(passage, topic_words: set[str], budget: int) -> list[str]:
    """A passage's sentences worth saying, up to `budget` words: the first, then those sharing most
    words with the topic and the section heading, kept in their order."""
    found = [s for s in sentences(" ".join(passage.text.split())) if len(s.split()) >= 4]
    if not found:
        return []
    focus = topic_words | _content_words(passage.heading or "")
    scored = sorted(range(len(found)), key=lambda i: (i != 0, -len(focus & _content_words(found[i])), i))
    keep, words = [], 0
    for i in scored:
        n = len(found[i].split())
        if keep and words + n > budget:
            continue
        keep.append(i)
        words += n
    return [found[i] for i in sorted(keep)]


def _scene_of(said: list[str], cited: list, heading: str | None) -> tuple:
    narration = " ".join(said)
    first = sentences(narration)[0]
    visual = f"{heading}: {first}" if heading else first
    return narration, visual[:300], [citation(p) for p in cited]
