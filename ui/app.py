"""The web page: streaming cited chat, a sources panel, filters, feedback and an Ingest tab.

``build_app(byline)`` is a thin adapter over :class:`rag.Byline`; ``launch`` is what
``byline chat`` runs. The Byline object is shared by every visitor, each conversation lives in
its own session state, and the answer chain generates one answer at a time.

For programs the page offers ``/chat`` (question in, answer text with ``[n]`` markers out)
and ``/ask`` (the whole answer as JSON) through ``gradio_client``.
"""

# No ``from __future__ import annotations`` here: gr.api reads the endpoints' type hints.

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import Answer
from rag.app import Byline
from rag.dates import parse_day
from rag.errors import RagError
from rag.events import Evidence, Retrieved, Stage, Token
from rag.llms import describe_model
from rag.manifest import Manifest
from ui.access import page_access
from ui.examples import example_questions
from ui.feedback import FEEDBACK_FILE, FeedbackLog, turn_record, vote_name
from ui.paths import UPLOAD_DIR, resolve_allowed, stage_uploads, supported_extensions
from ui.render import (
    SOURCES_PLACEHOLDER,
    esc,
    failure_rows,
    render_answer,
    render_error,
    render_ingest_summary,
    render_pending,
    render_question,
    render_reading,
    render_sources,
    render_stats,
    render_streaming,
    stage_line,
    stats_line,
)
from ui.style import CSS, HEAD

log = logging.getLogger("byline.ui")

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
# Answers that may be in flight at once: retrieval runs in parallel, generation one at a time.
CHAT_CONCURRENCY = 4
QUEUE_SIZE = 64
FAILURE_HEADERS = ["file", "line", "error"]
EXAMPLE_SLOTS = 5


def padded(examples: Sequence[str]) -> list[str | None]:
    """Exactly EXAMPLE_SLOTS entries: the examples, then None for the unused buttons."""
    return [*examples[:EXAMPLE_SLOTS], *[None] * (EXAMPLE_SLOTS - len(examples[:EXAMPLE_SLOTS]))]


def example_buttons(examples: Sequence[str]) -> list[Any]:
    """Updates for the example buttons: the current questions, unused buttons hidden."""
    return [gr.Button(value=q or "", visible=bool(q)) for q in padded(examples)]


class BylinePage(gr.Blocks):
    """``gr.Blocks`` that brings its own CSS, head script and theme to ``launch``."""

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("css", CSS)
        kwargs.setdefault("head", HEAD)
        kwargs.setdefault("theme", gr.themes.Soft(primary_hue="amber", neutral_hue="slate"))
        return super().launch(*args, **kwargs)


def _date_or_none(value: Any, label: str) -> str | None:
    """A ``YYYY-MM-DD`` string from a text box, or None when empty; RagError otherwise."""
    day = parse_day(str(value or "").strip(), label)
    return day.isoformat() if day else None


def build_filters(
    publishers: Sequence[str] | str | None, since: Any, until: Any
) -> dict[str, Any] | None:
    """The filter dict ``Byline.stream`` takes, from the page's filter inputs."""
    if isinstance(publishers, str):
        publishers = [publishers] if publishers.strip() else []
    sources = [p for p in publishers or [] if p]
    lo, hi = _date_or_none(since, "since"), _date_or_none(until, "until")
    if lo and hi and lo > hi:
        raise RagError(f"the date range is empty: since {lo} is after until {hi}")
    if not sources and not lo and not hi:
        return None
    return {"sources": sources, "since": lo, "until": hi}


def _unexpected(exc: BaseException) -> str:
    log.exception("unexpected error while answering")
    detail = " ".join(str(exc).split())[:200]
    return (
        f"something went wrong while answering ({type(exc).__name__}: {detail}); "
        "the server log has the details"
    )


def pump(make: Callable[[], Iterator[Any]], tick: float | None = None) -> Iterator[Any]:
    """Run an iterator in its own thread and hand its items over as they come.

    The answer chain holds the generation lock while it yields; driving it from a thread of
    its own means the lock is released when generation ends, even if the page that asked
    goes away mid-answer (the consumer stopping asks the producer to stop, too). With
    ``tick``, ``None`` is handed over whenever that many seconds pass without an item, so the
    page can show the time waited while the model reads.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def produce() -> None:
        iterator: Iterator[Any] | None = None
        try:
            iterator = make()
            for item in iterator:
                items.put(("item", item))
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, which re-raises it
            items.put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            items.put(("done", None))

    threading.Thread(target=produce, name="byline-answer", daemon=True).start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=tick)
            except queue.Empty:
                yield None
                continue
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


# How often the stage line's seconds move on while nothing else happens.
TICK_SECONDS = 1.0


class ChatService:
    """What the page's events do, kept apart from the layout so it reads (and tests) plainly."""

    def __init__(
        self,
        byline: Byline,
        llm: Any = None,
        ingest_roots: Sequence[str | Path] | None = None,
        feedback_path: str | Path | None = None,
        ingest_enabled: bool = True,
    ) -> None:
        self.byline = byline
        self.ingest_enabled = ingest_enabled
        self.max_uploads = byline.settings.page_max_uploads
        self.llm = llm
        roots = ingest_roots if ingest_roots is not None else [Path.cwd(), CORPUS_DIR]
        self.ingest_roots = [Path(r) for r in roots]
        self.feedback = FeedbackLog(feedback_path or byline.index_dir / FEEDBACK_FILE)
        self.max_bytes = int(byline.settings.max_file_mb * 1_000_000)
        self.model_label = self._model_label()

    def _model_label(self) -> str:
        try:
            model, name = self.byline.chat_model(self.llm)
        except RagError as exc:
            return f"no chat model ({exc})"
        if getattr(model, "_llm_type", "") == "byline-fake":
            return f"scripted test model ({getattr(model, 'mode', 'fake')})"
        return describe_model(name)

    # -- the index ----------------------------------------------------------------------------
    def stats(self) -> tuple[dict[str, Any] | None, str | None]:
        try:
            if not self.byline.exists():
                return None, f"No index at {self.byline.index_dir} yet."
            return self.byline.stats(), None
        except RagError as exc:
            return None, str(exc)

    def examples(self) -> list[str]:
        try:
            if not Manifest.exists(self.byline.index_dir):
                return []
            return example_questions(self.byline.manifest.entries())
        except RagError:
            return []

    def header_html(self, stats: dict[str, Any] | None) -> str:
        return (
            "<h1>Byline</h1>"
            "<p>Ask the news archive. Every claim cites its article; when the articles don't "
            "say, Byline says so.</p>"
            f"<p>{stats_line(stats)} · answers by {esc(self.model_label)}</p>"
        )

    def page_state(self) -> tuple[Any, ...]:
        """Header, publisher choices, stats and examples as they are now (on load, after ingest)."""
        stats, error = self.stats()
        publishers = sorted(p for p in (stats or {}).get("publishers", {}) if p)
        examples = self.examples()
        return (
            self.header_html(stats),
            gr.Dropdown(choices=publishers),
            render_stats(stats, error),
            *example_buttons(examples),
        )

    # -- answering ------------------------------------------------------------------------------
    def stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        as_of: str | None = None,
        filters: dict[str, Any] | None = None,
        tick: float | None = None,
    ) -> Iterator[Any]:
        """The answer's events (``rag.events``), then the checked Answer (RagError on
        purpose-made errors); with ``tick``, None between events every ``tick`` seconds."""
        return pump(
            lambda: self.byline.stream(
                question, history=history or None, as_of=as_of, filters=filters, llm=self.llm
            ),
            tick,
        )

    def answer(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        as_of: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Answer:
        final = None
        for item in self.stream(question, history, as_of, filters):
            if isinstance(item, Answer):
                final = item
        if final is None:
            raise RagError("the answer chain ended without an answer")
        return final

    def respond(
        self,
        message: str,
        chat: list[dict[str, Any]] | None,
        history: list[dict[str, str]] | None,
        turns: dict[int, dict[str, Any]] | None,
        publishers: list[str] | None,
        since: str,
        until: str,
        as_of: str,
    ) -> Iterator[tuple[Any, ...]]:
        """The chat event: stream the answer into the last bubble, then show it rendered."""
        skip = gr.skip()
        question = (message or "").strip()
        if not question:
            yield skip, skip, skip, skip, skip
            return
        chat = list(chat or []) + [{"role": "user", "content": render_question(question)}]
        index = len(chat)
        started = time.perf_counter()

        def pending(name: str, detail: str = "") -> dict[str, Any]:
            line = stage_line(name, detail, time.perf_counter() - started)
            return {"role": "assistant", "content": render_pending(line, quotes)}

        quotes: list[Any] = []
        stage = ("search", "")
        yield "", chat + [pending(*stage)], skip, skip, skip
        text = ""
        try:
            day = _date_or_none(as_of, "as of")
            filters = build_filters(publishers, since, until)
            answer = None
            for item in self.stream(question, history, day, filters, tick=TICK_SECONDS):
                if isinstance(item, Answer):
                    answer = item
                    break
                if item is None:  # a second passed: the stage line's clock moves on
                    if not text:
                        yield skip, chat + [pending(*stage)], skip, skip, skip
                elif isinstance(item, Stage):
                    stage = (item.name, item.detail)
                    if not text:
                        yield skip, chat + [pending(*stage)], skip, skip, skip
                elif isinstance(item, Retrieved):
                    panel = render_reading(item.sources, item.abstaining)
                    yield skip, chat + [pending(*stage)], skip, skip, panel
                elif isinstance(item, Evidence):
                    quotes = list(item.quotes)
                    yield skip, chat + [pending(*stage)], skip, skip, skip
                elif isinstance(item, Token):
                    text += item.text
                    bubble = {"role": "assistant", "content": render_streaming(text)}
                    yield skip, chat + [bubble], skip, skip, skip
            if answer is None:
                raise RagError("the answer chain ended without an answer")
        except RagError as exc:
            bubble = {"role": "assistant", "content": render_error(str(exc))}
            yield skip, chat + [bubble], skip, skip, skip
            return
        except Exception as exc:
            bubble = {"role": "assistant", "content": render_error(_unexpected(exc))}
            yield skip, chat + [bubble], skip, skip, skip
            return
        bubble = {"role": "assistant", "content": render_answer(answer)}
        history = list(history or []) + [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text, "article_ids": answer.cited_article_ids},
        ]
        turns = dict(turns or {})
        turns[index] = turn_record(question, answer, day, filters)
        yield skip, chat + [bubble], history, turns, render_sources(answer)

    def like(self, turns: dict[int, dict[str, Any]] | None, data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn = (turns or {}).get(int(index))
        if turn is None:
            gr.Warning("Only answers can be rated.")
            return
        self.feedback.record(turn, vote_name(data.liked))
        gr.Info("Thanks: your feedback was saved.", duration=2)

    # -- ingest ---------------------------------------------------------------------------------
    def _ingest(self, paths: list[Path], rejected: list[dict[str, Any]], progress: Any) -> tuple:
        report: dict[str, Any] = {}
        if paths:

            def on_progress(done: int, total: int) -> None:
                if total:
                    progress((done, total), desc="Indexing articles", unit="articles")
                else:  # files are read as they are indexed, so the total is not known ahead
                    progress(None, desc=f"Indexing articles: {done} so far")

            progress(0, desc="Reading files")
            report = self.byline.ingest(paths, on_progress=on_progress).to_dict()
        else:
            stats, _ = self.stats()
            report = {"articles": (stats or {}).get("articles", 0)}
            report["chunks"] = (stats or {}).get("chunks", 0)
        failed = rejected + list(report.get("failed") or [])
        warned = [{**w, "error": f"warning: {w['error']}"} for w in report.get("warnings") or []]
        summary = render_ingest_summary({**report, "failed": failed})
        return (summary, failure_rows(failed + warned), *self.page_state())

    def _ingest_refused(self, files: Sequence[Any] | None = None) -> str | None:
        """Why this ingest request is refused (ingest off, too many files), or None."""
        if not self.ingest_enabled:
            return "ingest is off on this server: start it with --ingest to add articles here"
        if files is not None and len(files) > self.max_uploads:
            return (
                f"{len(files)} files chosen, at most {self.max_uploads} per upload "
                "(page_max_uploads): upload them in smaller batches"
            )
        return None

    def ingest_uploads(self, files: list[Any] | None, progress: Any = None) -> tuple:
        progress = progress or (lambda *a, **k: None)
        if refused := self._ingest_refused(files or []):
            return (render_error(refused), [], *self.page_state())
        if not files:
            return (
                render_error("choose one or more files to upload first"),
                [],
                *self.page_state(),
            )
        try:
            paths, rejected = stage_uploads(
                files, self.byline.index_dir / UPLOAD_DIR, self.max_bytes
            )
            return self._ingest(paths, rejected, progress)
        except RagError as exc:
            return (render_error(str(exc)), [], *self.page_state())
        except Exception as exc:
            return (render_error(_unexpected(exc)), [], *self.page_state())

    def ingest_path(self, raw: str, progress: Any = None) -> tuple:
        progress = progress or (lambda *a, **k: None)
        if refused := self._ingest_refused():
            return (render_error(refused), [], *self.page_state())
        try:
            path = resolve_allowed(raw, self.ingest_roots)
            return self._ingest([path], [], progress)
        except RagError as exc:
            return (render_error(str(exc)), [], *self.page_state())
        except Exception as exc:
            return (render_error(_unexpected(exc)), [], *self.page_state())


def build_app(
    byline: Byline,
    llm: Any = None,
    *,
    ingest_roots: Sequence[str | Path] | None = None,
    feedback_path: str | Path | None = None,
    ingest: bool = True,
) -> gr.Blocks:
    """The Gradio page over ``byline``; ``llm`` is a spec or a chat model (default: configured).

    ``ingest_roots`` are the folders the Ingest tab may read from (default: the working
    directory and the demo corpus); votes go to ``feedback_path`` (default
    ``<index_dir>/feedback.jsonl``). With ``ingest`` False the Ingest tab is hidden and its
    handlers refuse (see ``ui.access``).
    """
    service = ChatService(byline, llm, ingest_roots, feedback_path, ingest_enabled=ingest)
    stats, error = service.stats()
    examples = service.examples()
    publisher_choices = sorted(p for p in (stats or {}).get("publishers", {}) if p)
    extensions = supported_extensions()

    with BylinePage(title="Byline", analytics_enabled=False) as page:
        header_box = gr.HTML(service.header_html(stats), elem_id="byline-header")
        history = gr.State([])
        turns = gr.State({})
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=420):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        elem_id="byline-chat",
                        height=440,
                        latex_delimiters=[],
                        buttons=["copy"],
                        placeholder=(
                            "Ask a question about the indexed news. Answers cite their "
                            "articles as [1], [2]…; follow-up questions keep the thread."
                        ),
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="e.g. who holds a right of first refusal on OpenAI capacity?",
                            show_label=False,
                            lines=1,
                            max_lines=4,
                            scale=5,
                            autofocus=True,
                            max_length=byline.settings.max_question_chars,
                            elem_id="byline-question",
                        )
                        ask = gr.Button("Ask", variant="primary", scale=1, min_width=80)
                        new_chat = gr.Button("New chat", variant="secondary", scale=1, min_width=80)
                    with gr.Accordion("Filters and date", open=False):
                        with gr.Row():
                            publishers = gr.Dropdown(
                                choices=publisher_choices,
                                multiselect=True,
                                label="Publisher",
                                info="Only articles from these publishers.",
                            )
                            as_of = gr.Textbox(
                                label="As of (YYYY-MM-DD)",
                                info="Answer as if today were this day (“latest”, “this week”).",
                            )
                        with gr.Row():
                            since = gr.Textbox(label="Published since (YYYY-MM-DD)")
                            until = gr.Textbox(label="Published until (YYYY-MM-DD)")
                    with gr.Row(elem_id="byline-examples"):
                        gr.Markdown("**Try asking**", elem_classes="byline-try")
                        example_slots = [
                            gr.Button(
                                q or "",
                                visible=bool(q),
                                size="sm",
                                variant="secondary",
                                elem_classes="byline-example",
                                min_width=120,
                                scale=0,
                            )
                            for q in padded(examples)
                        ]
                with gr.Column(scale=2, min_width=320):
                    sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="byline-sources")
            with gr.Tab("Ingest", id="ingest", visible=ingest):
                gr.Markdown(
                    "Add articles to the index. Supported files: "
                    + ", ".join(f"`{e}`" for e in extensions)
                    + f" (at most {byline.settings.max_file_mb:g} MB each). Unchanged articles "
                    "are skipped; changed ones replace their old version."
                )
                with gr.Row(equal_height=False):
                    with gr.Column():
                        files = gr.File(
                            label="Upload article files",
                            file_count="multiple",
                            file_types=extensions,
                            type="filepath",
                        )
                        upload = gr.Button("Ingest uploaded files", variant="primary")
                    with gr.Column():
                        folder = gr.Textbox(
                            label="Or a folder or file on this machine",
                            info="Inside: " + ", ".join(str(r) for r in service.ingest_roots),
                            placeholder="corpus/",
                        )
                        ingest_folder = gr.Button("Ingest path", variant="primary")
                ingest_status = gr.HTML(elem_id="byline-ingest-status")
                failures = gr.Dataframe(
                    headers=FAILURE_HEADERS,
                    datatype=["str", "str", "str"],
                    value=[],
                    label="Skipped files",
                    interactive=False,
                    wrap=True,
                )
                gr.Markdown("### Index")
                stats_box = gr.HTML(render_stats(stats, error), elem_id="byline-stats")
                refresh = gr.Button("Refresh", size="sm", variant="secondary")

        # -- chat events (page only; programs use /chat and /ask below) --------------------
        chat_inputs = [question, chatbot, history, turns, publishers, since, until, as_of]
        chat_outputs = [question, chatbot, history, turns, sources]
        for trigger in (question.submit, ask.click):
            trigger(
                service.respond,
                chat_inputs,
                chat_outputs,
                api_visibility="private",
                concurrency_id="answer",
                concurrency_limit=CHAT_CONCURRENCY,
                show_progress="minimal",
            )
        chatbot.like(service.like, [turns], None, api_visibility="private")
        for slot in example_slots:
            slot.click(lambda q: q, slot, question, api_visibility="private", queue=False)
        new_chat.click(
            lambda: ([], [], {}, SOURCES_PLACEHOLDER),
            None,
            [chatbot, history, turns, sources],
            api_visibility="private",
            queue=False,
        )
        chatbot.clear(
            lambda: ([], {}, SOURCES_PLACEHOLDER),
            None,
            [history, turns, sources],
            api_visibility="private",
            queue=False,
        )

        # -- ingest and index state -----------------------------------------------------------
        page_outputs = [header_box, publishers, stats_box, *example_slots]

        def ingest_uploads(files: list[Any] | None, progress=gr.Progress()) -> tuple:
            return service.ingest_uploads(files, progress)

        def ingest_path(raw: str, progress=gr.Progress()) -> tuple:
            return service.ingest_path(raw, progress)

        upload.click(
            ingest_uploads,
            [files],
            [ingest_status, failures, *page_outputs],
            api_visibility="private",
            concurrency_id="ingest",
            concurrency_limit=1,
        )
        ingest_folder.click(
            ingest_path,
            [folder],
            [ingest_status, failures, *page_outputs],
            api_visibility="private",
            concurrency_id="ingest",
            concurrency_limit=1,
        )
        refresh.click(service.page_state, None, page_outputs, api_visibility="private")
        page.load(service.page_state, None, page_outputs, api_visibility="private")

        # -- endpoints for programs -----------------------------------------------------------
        def chat(
            message: str, as_of: str = "", publisher: str = "", since: str = "", until: str = ""
        ) -> str:
            """Answer a question from the indexed articles: the answer text with its [n] markers.

            Optional: as_of (YYYY-MM-DD) answers as if today were that day; publisher, since
            and until filter the articles. Errors come back as the endpoint's error message.
            """
            try:
                filters = build_filters(publisher, since, until)
                return service.answer(message, None, _date_or_none(as_of, "as of"), filters).text
            except RagError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

        def ask_json(
            message: str, as_of: str = "", publisher: str = "", since: str = "", until: str = ""
        ) -> dict:
            """Like /chat, but the whole answer: text, citations with passages and offsets,
            sources, per-sentence support, model and timings."""
            try:
                filters = build_filters(publisher, since, until)
                day = _date_or_none(as_of, "as of")
                return service.answer(message, None, day, filters).to_dict()
            except RagError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

        gr.api(chat, api_name="chat", concurrency_id="answer", concurrency_limit=CHAT_CONCURRENCY)
        gr.api(
            ask_json, api_name="ask", concurrency_id="answer", concurrency_limit=CHAT_CONCURRENCY
        )

    page.queue(default_concurrency_limit=CHAT_CONCURRENCY, max_size=QUEUE_SIZE)
    return page


def _warm_up(byline: Byline, llm: str | None) -> None:
    try:
        seconds = byline.warm_up(llm)
    except Exception as exc:  # the first question then just reads the whole prompt itself
        log.warning("could not warm up the chat model: %s", exc)
    else:
        log.info("chat model read the fixed prompt start in %.1f s", seconds)


def launch(
    index: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    llm: str | None = None,
    demo: bool = False,
    *,
    no_auth: bool = False,
    ingest: bool | None = None,
    auth_file: str | Path | None = None,
) -> None:
    """Open the index (building it from the demo corpus with ``demo``), load the model, serve.

    Off loopback the page needs a login unless ``no_auth``, and ingest is off unless
    ``ingest`` (see ``ui.access``)."""
    byline = Byline.open(index)
    access = page_access(
        host,
        byline.settings,
        no_auth=no_auth,
        ingest=ingest,
        auth_file=Path(auth_file) if auth_file else None,
    )
    for warning in access.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if demo and not byline.exists():
        if not CORPUS_DIR.is_dir():
            raise RagError(
                f"the demo corpus is missing at {CORPUS_DIR}: run from a source checkout"
            )
        print(f"Indexing the demo corpus {CORPUS_DIR} into {byline.index_dir} (first run only)…")
        report = byline.ingest([CORPUS_DIR], progress=True)
        print(
            f"Indexed {report.articles} articles in {report.chunks} chunks "
            f"({report.seconds:.1f} s); {len(report.failed)} files skipped."
        )
    if not byline.exists():
        print(
            f"No index at {byline.index_dir} yet: add articles in the page's Ingest tab, "
            "run `byline ingest PATH`, or start with --demo."
        )
    spec = llm or byline.settings.llm
    print(f"Loading the chat model {describe_model(spec)}…")
    byline.chat_model(llm)  # fail now, with Byline's own message, rather than on first question
    if spec.startswith("local:"):  # read the fixed prompt start now, not on the first question
        threading.Thread(target=_warm_up, args=(byline, llm), daemon=True).start()
    page = build_app(byline, llm=llm, ingest=access.ingest)
    print(f"Byline is at http://{host}:{port} (Ctrl+C stops it).")
    page.launch(
        server_name=host,
        server_port=port,
        show_error=False,
        quiet=True,
        max_file_size=int(byline.settings.max_file_mb * 1_000_000),
        footer_links=["api"],
        auth=access.auth,
        auth_message="Byline: log in to ask the news archive." if access.auth else None,
    )
