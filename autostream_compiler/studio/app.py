"""The studio's page (Gradio Blocks): Create (form, draft, scene table and YAML kept in sync, build
with live progress, cancel), and Jobs (the workspace's specs with their last state). Every event has
an `api_name`, so `gradio_client` scripts can do what the page does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from autostream_compiler.errors import AutostreamError, SpecError, message_lines
from autostream_compiler.expand.lock import lock_path
from autostream_compiler.studio import draft
from autostream_compiler.studio.builds import Builds, Progress
from autostream_compiler.studio.workspace import Workspace, job_slug, slugify

SAMPLE_TEXT = "Hello! This is how I sound when I tell your story."
JOB_COLUMNS = ["job", "title", "state", "video", "finished", "error"]
SETTINGS = {  # the form's choices kept between visits, with their first values
    "style": "documentary",
    "voice": "",
    "aspect": "16:9",
    "resolution": "720p",
    "length": 60,
    "captions": "karaoke",
}


def _lines(exc: AutostreamError) -> list[str]:
    """An autostream error as the page shows it: the CLI's lines (secrets redacted), never a traceback."""
    return [line.removeprefix("error: ") for line in message_lines(exc)]


def _fail(exc: AutostreamError) -> gr.Error:
    """An autostream error raised to the page or an API client."""
    return gr.Error("\n".join(_lines(exc)), print_exception=False)


class Studio:
    """The handlers behind the page, over one workspace."""

    def __init__(self, workspace: Workspace, concurrency: int = 1):
        self.workspace = workspace
        self.concurrency = concurrency
        self.builds = Builds()

    # --- drafting ----------------------------------------------------------------------------------

    def draft(self, topic: str, script: str, style: str) -> str:
        """API `/draft`: a topic (written into scenes by the model) or a script (split into scenes),
        in a style; returns the spec's YAML with its scenes written out."""
        try:
            return draft.dump(
                draft.expand_scenes(self.workspace, draft.form_spec(topic=topic, script=script, style=style))[0]
            )
        except AutostreamError as exc:
            raise _fail(exc) from None

    def draft_form(
        self, job, title, topic, script, style, voice, aspect, resolution, length, captions, music, documents=None
    ):
        """The Draft button: the whole form's spec with its scenes written out (grounded in the uploaded
        documents, which are its `sources`), its music and documents kept in the job's folder.
        Returns (job, yaml, table, message)."""
        self.workspace.remember(
            {
                "style": style,
                "voice": voice,
                "aspect": aspect,
                "resolution": resolution,
                "length": length,
                "captions": captions,
            }
        )
        try:
            spec = draft.form_spec(title, topic, script, style, voice, aspect, resolution, length, captions)
            uploads = {f"sources/{self.workspace.document_name(Path(d))}": Path(d) for d in documents or []}
            if uploads:
                spec["sources"] = list(uploads)
            spec, cited = draft.expand_scenes(self.workspace, spec, files=uploads)
            slug = job_slug(job or spec["title"])
            for name, upload in uploads.items():
                self.workspace.add_document(slug, upload, name)
            if music:
                spec["music"] = {"path": self.workspace.add_music(slug, Path(music))}
            text = draft.dump(spec)
            self.workspace.check(text, slug)
        except AutostreamError as exc:
            raise _fail(exc) from None
        grounded = f", each citing {len(uploads)} document(s)" if uploads else ""
        return (
            slug,
            text,
            draft.table(spec, cited),
            f"{len(spec['scenes'])} scenes drafted{grounded}; edit them, then Build",
        )

    def settings(self) -> tuple:
        """The form's choices as last used in this workspace (they persist across visits and restarts)."""
        saved = self.workspace.remembered()
        values = [saved.get(key, default) for key, default in SETTINGS.items()]
        styles = self.workspace.styles()  # style files added to the workspace since the start show up
        values[0] = gr.update(choices=styles, value=values[0] if values[0] in styles else SETTINGS["style"])
        return tuple(values)

    def table_to_yaml(self, rows, text: str, job: str):
        """A scene table edit written into the spec's YAML; (yaml, message)."""
        try:
            base = draft.parse(text, self._name(job, text)) if text.strip() else {"version": 1}
            spec = draft.with_table(base, rows or [])
            new = draft.dump(spec)
        except AutostreamError as exc:
            return text, self._problem(exc)
        return new, self._validate(new, job)

    def yaml_to_table(self, text: str, job: str):
        """A YAML edit shown in the scene table; (table, message). The table keeps its rows while the
        YAML does not parse."""
        try:
            spec = draft.parse(text, self._name(job, text))
        except AutostreamError as exc:
            return gr.skip(), self._problem(exc)
        return draft.table(spec, self._cited(job, text, spec)), self._validate(text, job)

    def add_picture(self, job: str, text: str, scene: float, upload):
        """Use an uploaded picture for scene N (1-based); (job, yaml, table, message)."""
        try:
            slug = job_slug(job, text)
            if not upload:
                raise SpecError(["choose a picture file first"])
            spec = draft.parse(text, self._name(slug, text))
            scenes = spec.get("scenes") or []
            index = int(scene or 0) - 1
            if not 0 <= index < len(scenes) or not isinstance(scenes[index], dict):
                raise SpecError([f"there is no scene {int(scene or 0)}; scenes are numbered 1 to {len(scenes)}"])
            scenes[index]["image"] = self.workspace.add_picture(slug, Path(upload))
            for key in ("video", "video_audio"):  # a picture instead of the scene's clip
                scenes[index].pop(key, None)
            new = draft.dump(spec)
        except AutostreamError as exc:
            raise _fail(exc) from None
        return slug, new, draft.table(spec, self._cited(slug, new, spec)), self._validate(new, slug)

    def voice_sample(self, voice: str) -> str:
        """A short sample of a voice, as a WAV file (made once per voice)."""
        from autostream_compiler.engine.actions import write_wav
        from autostream_compiler.providers.voices import speak

        if not voice:
            raise gr.Error("choose a voice first (the style's own is used when none is chosen)", print_exception=False)
        path = self.workspace.scratch / "samples" / f"{slugify(voice)}.wav"
        if not path.is_file():
            try:
                speech = speak(voice, SAMPLE_TEXT)
            except AutostreamError as exc:
                raise _fail(exc) from None
            path.parent.mkdir(parents=True, exist_ok=True)
            write_wav(path, speech.samples, speech.sample_rate)
        return str(path)

    def _name(self, job: str, text: str) -> str:
        slug = job_slug(job, text)
        return f"{slug}/{slug}.yaml"

    def _cited(self, job: str, text: str, spec: dict) -> list[str]:
        """What each scene cites, from the job's lock (after a build or a draft)."""
        from autostream_compiler.expand.lock import lock_path

        return draft.lock_citations(lock_path(self.workspace.spec(job_slug(job, text))), spec)

    def _validate(self, text: str, job: str) -> str:
        slug = job_slug(job, text)
        try:
            self.workspace.check(text, slug)
        except AutostreamError as exc:
            return self._problem(exc)
        return "✓ the spec is valid"

    def _problem(self, exc: AutostreamError) -> str:
        return "\n".join(f"⚠ {line}" for line in _lines(exc))

    # --- building ----------------------------------------------------------------------------------

    def _run(self, text: str, job: str | None, profile: str, progress: gr.Progress) -> Iterator[tuple[str, Progress]]:
        """Save the spec as its job's and build it, yielding (slug, progress) until the build ends."""
        try:
            build = self.builds.start(self.workspace, text, job or None, profile)
        except AutostreamError as exc:
            raise _fail(exc) from None
        slug = build.slug
        try:
            for state in build.follow():
                progress((state.done, max(state.total, 1)), desc=state.line())
                yield slug, state
        finally:
            self.builds.end(build)  # stops it when the request went away (cancelled)

    def build_api(self, text: str, progress=gr.Progress()):  # noqa: B008 - Gradio's way to ask for progress
        """API `/build`: build a spec's YAML text as its job (named after its title); returns the MP4, the
        build report (JSON text) and the lock (YAML text). A bad spec or a failed build raises the CLI's
        error line."""
        runs = self._run(text, None, "final", progress)
        slug, state = next(runs)
        for slug, state in runs:  # noqa: B007 - the last one is the result
            yield None, None, None
        if state.state != "built":
            raise gr.Error(state.error or state.state, print_exception=False)
        report = self.workspace.folder(slug) / "out" / f"{slug}.report.json"
        yield (
            str(self.workspace.video(slug)),
            report.read_text(encoding="utf-8"),
            lock_path(self.workspace.spec(slug)).read_text(encoding="utf-8"),
        )

    def build_page(self, job: str, text: str, profile: str, progress=gr.Progress()):  # noqa: B008
        """The Build button: (job, status, log, video, thumbnail, downloads) as the build goes."""
        slug, shown = job, -1
        for slug, state in self._run(text, job, profile, progress):
            log = "\n".join(state.log) if state.lines != shown else gr.skip()  # sent again only when it grew
            shown = state.lines
            yield slug, f"**{state.state}** · {state.line()}", log, gr.skip(), gr.skip(), gr.skip()
        if state.state != "built":
            yield slug, f"**{state.state}**: {state.error}", "\n".join(state.log), None, None, None
            return
        yield slug, f"**built** · {state.line()}", "\n".join(state.log), *self.outputs(slug, profile)

    def outputs(self, slug: str, profile: str = "final") -> tuple:
        """(video, thumbnail, downloads) of a job's last build; Nones when it has none."""
        video = self.workspace.video(slug, profile)
        if not video.is_file():
            return None, None, None
        stem = video.with_suffix("")
        files = [video] + [stem.with_suffix(s) for s in (".srt", ".vtt", ".words.json")]
        files += [self.workspace.spec(slug), lock_path(self.workspace.spec(slug))]
        files.append(self.workspace.folder(slug) / "out" / f"{slug}.report.json")
        thumb = stem.with_suffix(".thumb.png")
        return str(video), str(thumb) if thumb.is_file() else None, [str(f) for f in files if f.is_file()]

    def cancel(self, job: str) -> str:
        """API `/cancel`: stop job's running build (the cache keeps its finished steps)."""
        slug = job_slug(job)
        return f"{slug}: cancelled" if self.builds.cancel(slug) else f"{slug}: not building"

    # --- jobs --------------------------------------------------------------------------------------

    def jobs(self) -> list[list[str]]:
        """API `/jobs`: every job with its state (building for live ones), its video, its last build's end
        and error."""
        live = set(self.builds.running)
        return [
            [
                j.slug,
                j.title,
                "building" if j.slug in live else j.state,
                j.video.name if j.video else "",
                j.finished or "",
                (j.error or "")[:200],
            ]
            for j in self.workspace.jobs()
        ]

    def open_job(self, job: str):
        """API `/open`: a job's spec for editing, and its last video; (job, yaml, table, message, video,
        thumbnail, downloads)."""
        slug = job_slug(job)
        spec = self.workspace.spec(slug)
        if not spec.is_file():
            raise gr.Error(f"no job {slug!r} in the workspace; pick one from the list", print_exception=False)
        text = spec.read_text(encoding="utf-8")
        try:
            parsed = draft.parse(text, self._name(slug, text))
            rows = draft.table(parsed, self._cited(slug, text, parsed))
        except AutostreamError:
            rows = []
        state = self.workspace.state(slug)
        profile = state.get("profile", "final")
        note = f"{slug}: {state.get('state', 'new')}" + (f": {state['error']}" if state.get("error") else "")
        return slug, text, rows, note, *self.outputs(slug, profile)


def create_app(studio: Studio, voices: list[str]) -> gr.Blocks:
    """The page."""
    ws = studio.workspace
    build_limit = {"concurrency_limit": studio.concurrency, "concurrency_id": "build"}
    # uploads and Gradio's copies live a day in the workspace's scratch folder
    with gr.Blocks(title="autostream studio", analytics_enabled=False, delete_cache=(86400, 86400)) as app:
        gr.Markdown("# autostream studio\nType a topic or paste a script, draft the scenes, edit them, build.")
        with gr.Tab("Create"):
            with gr.Row():
                job = gr.Textbox(label="Job", placeholder="named after the title", scale=1)
                title = gr.Textbox(label="Title", scale=2)
            topic = gr.Textbox(label="Topic (the model writes the scenes)", lines=2)
            script = gr.Textbox(label="…or a script (split into scenes by sentences)", lines=6)
            with gr.Row():
                style = gr.Dropdown(ws.styles(), value=SETTINGS["style"], label="Style")
                voice = gr.Dropdown([""] + voices, value="", label="Voice (empty: the style's)")
                sample = gr.Button("Hear the voice", size="sm")
                sample_audio = gr.Audio(label="Sample", type="filepath", interactive=False)
            with gr.Row():
                aspect = gr.Radio(draft.ASPECTS, value="16:9", label="Format")
                resolution = gr.Dropdown(draft.RESOLUTIONS, value="720p", label="Resolution")
                length = gr.Slider(15, 600, value=60, step=5, label="Target length, seconds (topic)")
                captions = gr.Dropdown(draft.CAPTION_STYLES, value="karaoke", label="Captions")
            with gr.Row():
                music = gr.File(label="Music (optional)", file_types=["audio"], type="filepath", height=90)
                documents = gr.File(
                    label="Documents to ground it in (PDF, Markdown, HTML, text; optional)",
                    file_types=[".pdf", ".md", ".markdown", ".html", ".htm", ".txt"],
                    file_count="multiple",
                    type="filepath",
                    height=90,
                )
            draft_button = gr.Button("Draft", variant="primary")
            message = gr.Markdown()
            table = gr.Dataframe(
                headers=[*draft.COLUMNS, draft.CITED],
                datatype=["str"] * 5,
                type="array",
                interactive=True,
                static_columns=[4],  # what a scene cites comes from the documents, not from typing
                wrap=True,
                column_widths=["38%", "27%", "12%", "8%", "15%"],
                label="Scenes (picture: a file you add below; motion: zoom_in, pan_left… or empty for the style's)",
            )
            with gr.Row():
                picture_scene = gr.Number(value=1, precision=0, label="Scene", minimum=1)
                picture = gr.File(label="Picture for that scene", file_types=["image"], type="filepath", height=90)
                picture_button = gr.Button("Use picture", size="sm")
            spec_yaml = gr.Code(language="yaml", label="Spec (YAML)", interactive=True)
            with gr.Row():
                profile = gr.Radio(["draft", "final"], value="final", label="Profile")
                build_button = gr.Button("Build", variant="primary")
                cancel_button = gr.Button("Cancel", variant="stop")
            status = gr.Markdown()
            log = gr.Textbox(label="Log", lines=8, max_lines=16, autoscroll=True)
            with gr.Row():
                video = gr.Video(label="Video", interactive=False, elem_id="studio-video")
                thumb = gr.Image(label="Thumbnail", type="filepath", interactive=False)
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
        with gr.Tab("Jobs"):
            jobs = gr.Dataframe(headers=JOB_COLUMNS, type="array", interactive=False, label="Jobs")
            with gr.Row():
                refresh = gr.Button("Refresh", size="sm")
                pick = gr.Textbox(label="Job to open", scale=2)
                open_button = gr.Button("Open", size="sm")
        with gr.Column(visible=False):  # the API's own inputs and outputs
            api_spec = gr.Textbox()
            api_video, api_report, api_lock = gr.File(), gr.Textbox(), gr.Textbox()
            api_topic, api_script, api_style = gr.Textbox(), gr.Textbox(), gr.Textbox()
            api_draft, api_job, api_note = gr.Code(language="yaml"), gr.Textbox(), gr.Textbox()
            api_build, api_draft_button, api_cancel = gr.Button(), gr.Button(), gr.Button()

        form = [job, title, topic, script, style, voice, aspect, resolution, length, captions, music, documents]
        draft_button.click(studio.draft_form, form, [job, spec_yaml, table, message], api_name="draft_form")
        table.input(
            studio.table_to_yaml,
            [table, spec_yaml, job],
            [spec_yaml, message],
            api_name="scenes",
            trigger_mode="always_last",
        )
        spec_yaml.input(
            studio.yaml_to_table, [spec_yaml, job], [table, message], api_name="spec", trigger_mode="always_last"
        )
        picture_button.click(
            studio.add_picture,
            [job, spec_yaml, picture_scene, picture],
            [job, spec_yaml, table, message],
            api_name="picture",
        )
        sample.click(studio.voice_sample, voice, sample_audio, api_name="voice_sample")
        page_build = build_button.click(
            studio.build_page,
            [job, spec_yaml, profile],
            [job, status, log, video, thumb, downloads],
            api_name="build_job",
            show_progress_on=[status],  # one progress bar: an overlay on every output costs the browser a core
            **build_limit,
        )
        page_build.then(studio.jobs, None, jobs, api_name=False)
        cancel_button.click(studio.cancel, job, status, api_name="cancel_job", cancels=[page_build])
        api_build.click(studio.build_api, api_spec, [api_video, api_report, api_lock], api_name="build", **build_limit)
        api_draft_button.click(studio.draft, [api_topic, api_script, api_style], api_draft, api_name="draft")
        api_cancel.click(studio.cancel, api_job, api_note, api_name="cancel")
        refresh.click(studio.jobs, None, jobs, api_name="jobs")
        open_outputs = [job, spec_yaml, table, message, video, thumb, downloads]
        open_button.click(studio.open_job, pick, open_outputs, api_name="open")
        jobs.select(_picked, None, pick, api_name=False)
        app.load(studio.jobs, None, jobs, api_name=False)
        app.load(studio.settings, None, [style, voice, aspect, resolution, length, captions], api_name=False)
    return app


def _picked(event: gr.SelectData) -> str:
    """A click on a row of the Jobs table picks that job."""
    row = event.row_value if hasattr(event, "row_value") else None
    return row[0] if row else gr.skip()
