"""Expansion: spec + style -> scene graph, kept in the lock file while its inputs are unchanged.

Two digests decide what a build does with the lock:
- the expansion digest covers what the scenes were written from (content, prompts, model, sampling,
  pacing targets). While it matches, the lock's scenes are kept and no model is called.
- the inputs digest covers everything else too (format, voice, style look...). While it also
  matches, the lock's graph is used exactly as it is, hand edits included; when only it changed,
  the lock's scenes are resolved again (no model call) and the lock is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from autostream_compiler.atomic import write_if_changed
from autostream_compiler.digests import digest
from autostream_compiler.env import load_env_file
from autostream_compiler.errors import UserError
from autostream_compiler.expand import llm as topic
from autostream_compiler.expand.graph import Draft, build_graph, drafts_of, resolve_pacing
from autostream_compiler.expand.lock import lock_path, read_lock, render_lock
from autostream_compiler.expand.offline import offline_drafts, offline_inputs, shortened
from autostream_compiler.expand.scenegraph import Expansion, LockFile, SceneGraph
from autostream_compiler.providers.llm import KEY_ENV, missing_key, model_id, open_llm
from autostream_compiler.specfile import Spec, load_spec
from autostream_compiler.specfile.style import Style, load_style, style_path

if TYPE_CHECKING:
    from autostream_compiler.sources.ground import Grounding

RESOLVER_VERSION = 2  # bump when resolving the same scenes gives a different graph


@dataclass
class Resolved:
    """A loaded spec and the scene graph it resolves to."""

    spec_path: Path
    spec: Spec
    graph: SceneGraph
    lock: str  # "current" (used as is), "updated" (scenes kept, rest resolved again), "expanded" (written anew)
    files: frozenset[Path]  # what resolving read: the spec, its lock, `.env`, the style file


@dataclass
class Inputs:
    """A spec with its style and the digests its lock is checked against."""

    spec_path: Path
    spec: Spec
    style: Style
    expansion: dict
    expansion_digest: str
    inputs_digest: str
    grounding: Grounding | None = None


def load_inputs(
    spec_path: Path, sources_root: Path | None = None, log: Callable[[str], None] = lambda _: None
) -> Inputs:
    """Load a spec (and the `.env` beside it) and its style; read and index its `sources` (under
    `sources_root`, default the spec's cache); work out the digests its lock depends on."""
    load_env_file(Path(spec_path).parent)
    spec = load_spec(spec_path)
    style_file = style_path(spec.style, spec_path.parent)
    try:
        style, style_digest = load_style(style_file)
    except UserError as exc:
        exc.inputs = frozenset({style_file})  # watch it: the fix is an edit there
        raise
    grounding = None
    if spec.sources:
        from autostream_compiler.engine.cache import sources_root as default_root
        from autostream_compiler.sources.ground import ground

        root = sources_root or default_root(None, spec_path)
        grounding = ground(spec, Path(spec_path).parent, root, log)
    if spec.topic is not None and grounding is not None and spec.llm.provider == "offline":
        from autostream_compiler.sources.ground import extractive_inputs

        expansion = extractive_inputs(spec, grounding, topic.targets(spec, style))
    elif spec.topic is not None:
        expansion = topic.llm_inputs(spec, style, grounding.search(spec.topic) if grounding else ())
    else:
        expansion = offline_inputs(spec, resolve_pacing(spec, style).words_per_minute, style.pacing.scene_seconds)
    exp_digest = digest(expansion)
    everything = {
        "expansion": exp_digest,
        "spec": spec.model_dump(
            mode="json", exclude={"output"} if spec.sources else {"output", "sources", "retrieval"}
        ),
        "style": style_digest,
        "resolver": RESOLVER_VERSION,
    }
    if grounding is not None:  # citations of written scenes follow the documents
        everything["sources"] = grounding.fingerprint()
    return Inputs(spec_path, spec, style, expansion, exp_digest, digest(everything), grounding)


def lock_status(inputs: Inputs) -> tuple[str, LockFile | None]:
    """ "current", "scenes-current" (only the resolution is stale), "stale", "old-format" or "missing";
    and the lock."""
    path = lock_path(inputs.spec_path)
    lock = read_lock(path)
    if lock is None:
        return ("old-format" if path.exists() else "missing"), None
    if lock.expansion.digest != inputs.expansion_digest:
        return "stale", lock
    return ("current" if lock.inputs_digest == inputs.inputs_digest else "scenes-current"), lock


def resolve(
    spec_path: Path,
    refresh: bool = False,
    write: bool = True,
    answer: Path | None = None,
    log: Callable[[str], None] = lambda _: None,
    sources_root: Path | None = None,
) -> Resolved:
    """Load the spec and return its scene graph: from the lock when current, else expanded (and locked).

    `refresh` writes the scenes anew even when the lock is current; `answer` takes them from a file
    holding a model's answer instead of asking one. With write=False nothing is saved and no model is
    called: a topic whose scenes are stale raises UserError. `sources_root` holds the index of the
    spec's `sources` (default: `sources/` in the spec's cache).
    """
    spec_path = Path(spec_path)
    inputs = load_inputs(spec_path, sources_root, log)
    state, lock = ("missing", None) if refresh or answer else lock_status(inputs)
    spec, style = inputs.spec, inputs.style
    if state == "current":
        return Resolved(spec_path, spec, lock.graph, "current", _files(inputs))
    if state == "scenes-current" and spec.topic is not None:  # a script or scenes is split (and cited) again
        expansion, drafts, status = lock.expansion, drafts_of(lock.graph), "updated"
    else:
        if not write and spec.topic is not None and inputs.expansion.get("extractive") is None:
            raise UserError(
                f"{lock_path(spec_path)}: the scenes are out of date for the spec's topic; "
                f"run `autostream expand {spec_path}` to ask the model again"
            )
        (expansion, drafts), status = _expand(inputs, answer, log), "expanded"
    graph = build_graph(spec, style, spec.title or expansion.title or _title_from(spec_path), drafts)
    if inputs.grounding is not None:  # what the citations were made from, for `status`
        documents = {d.file: d.digest for d in inputs.grounding.documents}
        expansion = expansion.model_copy(update={"documents": documents, "embedder": inputs.grounding.embedder})
    if write:
        write_if_changed(lock_path(spec_path), render_lock(spec_path, inputs.inputs_digest, expansion, graph))
    return Resolved(spec_path, spec, graph, status, _files(inputs))


def sources_status(spec_path: Path, sources_root: Path | None = None) -> list[str]:
    """What the spec's sources mean for the next build, in words: which documents changed since the
    lock (they are indexed again), whether the model is asked again, which scenes cite anew."""
    inputs = load_inputs(Path(spec_path), sources_root)
    if inputs.grounding is None:
        return []
    state, lock = lock_status(inputs)
    before = (lock.expansion.documents or {}) if lock else {}
    lines = []
    for document in inputs.grounding.documents:
        pages = f"{len(document.pages)} page{'s' if len(document.pages) != 1 else ''}"
        if document.file not in before:
            lines.append(f"{document.file}: new since the lock ({pages}, indexed)")
        elif before[document.file] != document.digest:
            lines.append(
                f"{document.file}: changed since the lock; indexed again (unchanged passages keep their vectors)"
            )
        else:
            lines.append(f"{document.file}: unchanged ({pages})")
    if inputs.spec.topic is not None and lock is not None:
        if inputs.expansion.get("extractive") is not None:
            said = "the scenes are written again from the documents" if state == "stale" else "the scenes stay"
        elif state == "stale":
            said = "the passages retrieved for the topic changed: the model is asked again (`autostream expand`)"
        else:
            said = "the passages retrieved for the topic are the same: the model is not asked again"
        lines.append(said)
    elif lock is not None and state != "current":
        lines.append("the scenes' citations are worked out again from the documents")
    return lines


def _files(inputs: Inputs) -> frozenset[Path]:
    spec_path = inputs.spec_path
    documents = {d.path for d in inputs.grounding.documents} if inputs.grounding else set()
    return frozenset({spec_path, lock_path(spec_path), spec_path.parent / ".env", inputs.style._path, *documents})


def _expand(inputs: Inputs, answer: Path | None, log: Callable[[str], None]):
    spec, style, grounding = inputs.spec, inputs.style, inputs.grounding  # `resolve` records the embedder
    if spec.topic is None:
        if answer is not None:
            raise UserError(f"{inputs.spec_path}: --answer needs a spec with a `topic`; this one has its scenes")
        pacing = resolve_pacing(spec, style)
        drafts = offline_drafts(spec, pacing.words_per_minute, style.pacing.scene_seconds)
        if grounding is not None:
            from autostream_compiler.sources.ground import cite

            for draft in drafts:
                draft.sources = cite(grounding, draft.narration) or None
        return Expansion(digest=inputs.expansion_digest, provider="offline"), drafts
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    goal = topic.Targets(**inputs.expansion["targets"])
    cfg = spec.llm
    if cfg.provider == "offline" and grounding is not None and answer is None:
        from autostream_compiler.sources.ground import extractive_scenes

        log(f"writing scenes from {len(grounding.documents)} document(s), offline")
        written = extractive_scenes(spec.topic, grounding, goal.target_words, goal.scene_words)
        drafts = [Draft(narration, visual, sources=cited or None) for narration, visual, cited in written]
        title = shortened(" ".join(spec.topic.split()), 80)  # no model to propose one: the topic
        return Expansion(digest=inputs.expansion_digest, provider="offline", title=title), drafts
    convo, passages = inputs.expansion.get("messages"), inputs.expansion.get("passages")
    if answer is not None:
        title, drafts = topic.answer_file(spec, goal, answer, passages)
        return (
            Expansion(
                digest=inputs.expansion_digest,
                provider="answer-file",
                time=now,
                source=answer.name,
                title=title,
                messages=convo,
            ),
            drafts,
        )
    if cfg.provider == "offline":
        raise UserError(
            f"{inputs.spec_path}: llm.provider: offline cannot write scenes from a `topic` alone; "
            "add `sources` (documents to write them from), write a `script` or `scenes`, or use provider groq or openai"
        )
    why = missing_key(cfg)
    if why:
        raise UserError(
            f"{inputs.spec_path}: topic: writing scenes from a topic needs a language model and {why}; "
            f"set {KEY_ENV[cfg.provider]}, or point `llm` at a local OpenAI-compatible server "
            "(llm: {provider: openai, base_url: http://127.0.0.1:11434/v1, model: llama3.1}), "
            "or write a `script` or `scenes` instead"
        )
    log(f"writing scenes with {cfg.provider} {model_id(cfg)}")
    title, drafts = topic.expand_topic(spec, goal, convo, open_llm(cfg, spec.seed), log, passages)
    return (
        Expansion(
            digest=inputs.expansion_digest,
            provider=cfg.provider,
            model=model_id(cfg),
            time=now,
            title=title,
            messages=convo,
        ),
        drafts,
    )


def _title_from(spec_path: Path) -> str:
    return spec_path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "Untitled"
