"""Topic -> scenes through a language model: prompts from the style, JSON answers validated and
repaired, pacing enforced afterwards. Only the creative content comes from the model; the compiler
resolves everything else."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autostream_compiler.errors import BuildError, UserError
from autostream_compiler.expand.graph import Draft, resolve_pacing
from autostream_compiler.expand.offline import sentences
from autostream_compiler.expand.scenegraph import Citation
from autostream_compiler.expand.spoken import to_words
from autostream_compiler.providers.llm import LLM, model_id
from autostream_compiler.specfile.models import Spec
from autostream_compiler.specfile.style import Style

VERSION = 1  # bump when prompts' framing, answer handling or pacing rules change what a model's answer becomes
TOLERANCE = 0.25  # a total this far off the target duration is asked for again, once
_PART_VIEWS = ("seen closer", "from another angle", "in a wide view")


class AnswerScene(BaseModel):
    """One scene as the model writes it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    narration: str = Field(min_length=1)
    visual: str = Field(min_length=1)
    speaker: str | None = None
    sources: list[str] | None = None

    @field_validator("narration")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not to_words(value):
            raise ValueError("has no words to speak")
        return value


class Answer(BaseModel):
    """The model's whole answer."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str | None = None
    scenes: list[AnswerScene] = Field(min_length=1)

    @field_validator("title")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


def answer_schema(speakers: list[str], passages: list[str] = ()) -> dict:
    """The JSON schema of an answer; with speakers, every scene names one of them; with passages
    (their ids), every scene cites at least one."""
    scene: dict = {"narration": {"type": "string"}, "visual": {"type": "string"}}
    if speakers:
        scene["speaker"] = {"type": "string", "enum": speakers}
    if passages:
        scene["sources"] = {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(passages)}}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "scenes": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": scene,
                    "required": list(scene),
                    "additionalProperties": False,
                },
            },
        },
        "required": ["title", "scenes"],
        "additionalProperties": False,
    }


def _answer_format(speakers: list[str], passages: list[str] = ()) -> str:
    text = (
        "Answer with only a JSON object, no prose around it, following this JSON schema:\n"
        + json.dumps(answer_schema(speakers, passages), separators=(",", ":"))
        + "\n`scenes` are in order. `narration` is exactly what is said in the scene: plain sentences, "
        "no headings, no stage directions. `visual` describes one still picture for the scene (subject, "
        "setting, light), with no words or captions in it. `title` is a short title for the video."
    )
    if speakers:
        text += (
            f"\nThe video is a conversation between {', '.join(speakers)}: `speaker` says who speaks each "
            "scene; let them take turns."
        )
    return text


@dataclass(frozen=True)
class Targets:
    """How long the video and its scenes should be."""

    words_per_minute: int
    pause: float
    target_duration: float
    scene_seconds: float
    max_scene_seconds: float
    scene_count: int
    target_words: int
    scene_words: int

    def seconds(self, answer: Answer) -> float:
        """How long an answer runs when spoken at this pace, pauses included."""
        words = sum(len(to_words(s.narration)) for s in answer.scenes)
        return words * 60 / self.words_per_minute + len(answer.scenes) * self.pause


def targets(spec: Spec, style: Style) -> Targets:
    """The pacing targets of a spec and its style."""
    pacing = resolve_pacing(spec, style)
    duration = spec.pacing.target_duration or style.pacing.target_duration
    scene_seconds = style.pacing.scene_seconds
    count = max(1, round(duration / (scene_seconds + pacing.pause)))
    words = round((duration - count * pacing.pause) * pacing.words_per_minute / 60)
    return Targets(
        words_per_minute=pacing.words_per_minute,
        pause=pacing.pause,
        target_duration=duration,
        scene_seconds=scene_seconds,
        max_scene_seconds=spec.pacing.max_scene_seconds or style.pacing.max_scene_seconds,
        scene_count=count,
        target_words=max(words, count),
        scene_words=max(1, round(words / count)),
    )


def messages(spec: Spec, style: Style, goal: Targets, passages: list = ()) -> list[dict[str, str]]:
    """The system and user messages for a spec's topic (with `passages`: the ones retrieved from its
    sources, which the scenes must cite by id)."""
    variables = dict(
        topic=" ".join((spec.topic or "").split()),
        title=spec.title or "",
        target_duration=f"{goal.target_duration:g}",
        target_words=goal.target_words,
        scene_count=goal.scene_count,
        scene_words=goal.scene_words,
        scene_seconds=f"{goal.scene_seconds:g}",
        words_per_minute=goal.words_per_minute,
    )
    system = style.render("prompts.system", **variables)
    user = style.render("prompts.user", **variables)
    if passages:
        from autostream_compiler.sources.ground import passages_prompt

        user = f"{user}\n\n{passages_prompt(list(passages))}"
    answer_format = _answer_format(list(spec.speakers or {}), [p.id for p in passages])
    return [
        {"role": "system", "content": f"{system}\n\n{answer_format}"},
        {"role": "user", "content": user},
    ]


def llm_inputs(spec: Spec, style: Style, passages: list = ()) -> dict:
    """Everything a topic's expansion reads: provider, model, sampling, prompts and targets (and the
    passages retrieved from the spec's sources, which are in the prompt)."""
    goal = targets(spec, style)
    inputs = {
        "provider": spec.llm.provider,
        "model": model_id(spec.llm),
        "temperature": spec.llm.temperature,
        "seed": spec.seed,
        "version": VERSION,
        "targets": asdict(goal),
        "messages": messages(spec, style, goal, passages),
    }
    if passages:
        inputs["passages"] = {p.id: {"file": p.file, "page": p.page, "text": p.text} for p in passages}
    return inputs


def parse_answer(text: str, speakers: list[str], passages: list[str] = ()) -> Answer:
    """The answer in a model's reply; ValueError says what is wrong, for the model to repair (an
    uncited scene or an unknown passage id too, when the scenes must cite `passages`)."""
    body = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    try:
        answer = Answer.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'the answer'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ValueError(f"it does not follow the schema ({problems})") from None
    if speakers:
        wrong = [
            f"scenes.{i}.speaker: {s.speaker!r} is not one of {', '.join(speakers)}"
            for i, s in enumerate(answer.scenes)
            if s.speaker not in speakers
        ]
        if wrong:
            raise ValueError(f"it does not follow the schema ({'; '.join(wrong[:5])})")
    if passages:
        known, wrong = set(passages), []
        for i, scene in enumerate(answer.scenes):
            if not scene.sources:
                wrong.append(f"scenes.{i}.sources: cite at least one passage id")
            wrong += [f"scenes.{i}.sources: {c!r} is not a passage id" for c in scene.sources or [] if c not in known]
        if wrong:
            raise ValueError(f"the citations are wrong ({'; '.join(wrong[:5])}); cite only the given ids")
    return answer


def ask(
    llm: LLM, convo: list[dict[str, str]], repairs: int, speakers: list[str], passages: list[str] = ()
) -> tuple[Answer, str]:
    """Ask until the answer is valid, sending each invalid one back with its problems, `repairs` times."""
    convo = list(convo)
    for _attempt in range(repairs + 1):
        text = llm.chat(convo, answer_schema(speakers, passages))
        try:
            return parse_answer(text, speakers, passages), text
        except ValueError as exc:
            problem = str(exc)
        convo += [
            {"role": "assistant", "content": text},
            {
                "role": "user",
                "content": f"That answer is not usable: {problem}. Reply with only the corrected JSON object.",
            },
        ]
    raise BuildError(
        f"{llm.provider} model {llm.model} gave no usable answer after {repairs} repairs "
        f"(last: {problem}); run again, raise `llm.repairs`, or try another model"
    )


def expand_topic(
    spec: Spec,
    goal: Targets,
    convo: list[dict[str, str]],
    llm: LLM,
    log: Callable[[str], None],
    passages: dict[str, dict] | None = None,
) -> tuple[str | None, list[Draft]]:
    """Ask the model for scenes (`convo`: the messages of `llm_inputs`); re-ask once when far off the
    target length; split overlong scenes. With `passages` (id -> file, page, text) every scene cites them."""
    speakers, ids = list(spec.speakers or {}), list(passages or {})
    answer, text = ask(llm, convo, spec.llm.repairs, speakers, ids)
    seconds = goal.seconds(answer)
    if abs(seconds - goal.target_duration) > TOLERANCE * goal.target_duration:
        words = sum(len(to_words(s.narration)) for s in answer.scenes)
        log(f"the answer runs {seconds:.0f} s, the target is {goal.target_duration:g} s: asking once more")
        again = convo + [
            {"role": "assistant", "content": text},
            {
                "role": "user",
                "content": (
                    f"That narration has {words} words, about {seconds:.0f} seconds at {goal.words_per_minute} words "
                    f"per minute; the video should run about {goal.target_duration:g} seconds. Rewrite it to about "
                    f"{goal.target_words} words in about {goal.scene_count} scenes, in the same JSON form."
                ),
            },
        ]
        try:
            second, _ = ask(llm, again, spec.llm.repairs, speakers, ids)
        except BuildError as exc:
            log(f"warning: asking again failed ({exc}); keeping the first answer")
            second = answer
        if abs(goal.seconds(second) - goal.target_duration) < abs(seconds - goal.target_duration):
            answer, seconds = second, goal.seconds(second)
        if abs(seconds - goal.target_duration) > TOLERANCE * goal.target_duration:
            log(
                f"warning: the narration runs {seconds:.0f} s, not about {goal.target_duration:g} s; "
                "edit the lock's scenes or run `autostream expand --refresh`"
            )
    return answer.title, pace(answer, goal, passages)


def pace(answer: Answer, goal: Targets, passages: dict[str, dict] | None = None) -> list[Draft]:
    """Drafts from an answer, with scenes longer than `max_scene_seconds` split (each part keeps the
    scene's citations)."""
    max_words = max(1, int(goal.max_scene_seconds * goal.words_per_minute / 60))
    drafts = []
    for scene in answer.scenes:
        cited = [Citation(**passages[c]) for c in dict.fromkeys(scene.sources or []) if c in (passages or {})]
        for i, piece in enumerate(split_long(scene.narration, max_words)):
            visual = scene.visual if i == 0 else f"{scene.visual}, {_PART_VIEWS[(i - 1) % len(_PART_VIEWS)]}"
            drafts.append(Draft(piece, visual, speaker=scene.speaker, sources=cited or None))
    return drafts


def split_long(text: str, max_words: int) -> list[str]:
    """`text` in as few pieces of at most `max_words` words as it takes, cut at sentence ends where
    possible, else at clause ends (, ; :), else between words; pieces about equally long."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    parts = math.ceil(len(words) / max_words)
    units: list[str] = []
    for sentence in sentences(text):
        if len(sentence.split()) <= max_words:
            units.append(sentence)
            continue
        for clause in re.split(r"(?<=[,;:])\s+", sentence):
            clause_words = clause.split()
            size = math.ceil(len(clause_words) / math.ceil(len(clause_words) / max_words))
            units += [" ".join(clause_words[i : i + size]) for i in range(0, len(clause_words), size)]
    target = len(words) / parts
    pieces: list[list[str]] = [[]]
    count = 0
    for unit in units:
        n = len(unit.split())
        if pieces[-1] and (count + n > max_words or count + n / 2 > target):
            pieces.append([])
            count = 0
        pieces[-1].append(unit)
        count += n
    return [" ".join(piece) for piece in pieces]


def answer_file(
    spec: Spec, goal: Targets, path, passages: dict[str, dict] | None = None
) -> tuple[str | None, list[Draft]]:
    """Scenes from a file holding an answer in the model's JSON form (written elsewhere or by hand)."""
    try:
        answer = parse_answer(path.read_text(encoding="utf-8"), list(spec.speakers or {}), list(passages or {}))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the answer file ({exc.strerror}); fix the path") from None
    except ValueError as exc:
        raise UserError(f"{path}: {exc}; give a JSON object with `scenes` of `narration` and `visual`") from None
    return answer.title, pace(answer, goal, passages)
