"""The ``byline`` command. Errors become one friendly line here; tracebacks only with --debug."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import typer.core

from rag.errors import RagError

F = TypeVar("F", bound=Callable[..., Any])
SEARCH_PASSAGES = 4  # passages searched per article asked for, so articles group their matches
IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index folder (default .byline).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SourceOpt = Annotated[
    list[str] | None, typer.Option(help="Only this publisher (repeatable).", metavar="NAME")
]
SinceOpt = Annotated[
    str | None, typer.Option(help="Published on or after this day.", metavar="YYYY-MM-DD")
]
UntilOpt = Annotated[
    str | None, typer.Option(help="Published on or before this day.", metavar="YYYY-MM-DD")
]


def _plain_flags(params: list[Any]) -> list[Any]:
    """Flags take no value, so their help shows none (typer would print ``<bool>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Group(typer.core.TyperGroup):
    """The ``byline`` group: every command's flags, --help included, shown without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_flags(command.get_params(ctx))
        return command


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions of a news archive; every claim cited to its article.",
)


# C0/C1 controls (ESC starts terminal escape sequences; CR overwrites a line) and the bidi
# overrides that reorder what a terminal shows. Newline and tab are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """Text safe to print: control characters appear as ``\\x1b``-style escapes, inert."""

    def show(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(show, str(text))


class _State:
    debug = False


def friendly(fn: F) -> F:
    """Turn Byline's own errors into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RagError as exc:
            if _State.debug:
                raise
            typer.echo(printable(f"error: {exc}"), err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _State.debug = debug


def _open(index: Path | None, **overrides: Any):  # noqa: ANN202
    from rag.app import Byline

    return Byline.open(index, **overrides)


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
@friendly
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders of articles.", metavar="PATH...")
    ],
    index: IndexOpt = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Drop articles whose files are gone.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Let these files' copies replace articles of the same id."),
    ] = False,
    rehash: Annotated[
        bool,
        typer.Option(
            "--rehash",
            help="Read every file, also those whose size and modification time are unchanged.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add new, replace changed and skip unchanged articles; bad files are reported and skipped.

    A file whose size and modification time are as when it was last read is not read again
    (--rehash reads it). A file that fails to load keeps the articles it had in the index."""
    byline = _open(index)
    report = byline.ingest(
        [str(p) for p in paths],
        prune=prune,
        progress=None if not as_json else False,
        replace=replace,
        rehash=rehash,
    )
    if as_json:
        _dump(report.to_dict())
    else:
        for f in report.failed:
            where = f"{f['path']}:{f['line']}" if f["line"] else f["path"]
            typer.echo(printable(f"skipped {where}: {f['error']}"), err=True)
        for w in report.warnings:
            where = f"{w['path']}:{w['line']}" if w["line"] else w["path"]
            typer.echo(printable(f"warning {where}: {w['error']}"), err=True)
        if report.kept:
            typer.echo(
                f"kept {report.kept} indexed articles of files that failed to load", err=True
            )
        if report.recovered:
            typer.echo(f"finished {report.recovered} article writes an earlier run left", err=True)
        typer.echo(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed; index has "
            f"{report.articles} articles in {report.chunks} chunks ({report.seconds:.1f}s)"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command()
@friendly
def search(
    query: Annotated[str, typer.Argument(help="What to look for.", metavar="QUERY")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("-k", help="How many articles.")] = 10,
    source: SourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hybrid search over the indexed passages, grouped by article (its best passage first)."""
    from rag.cli_format import group_by_article, render_search

    filters = {"sources": source, "since": since, "until": until}
    hits = _open(index).search(query, k=max(k, 1) * SEARCH_PASSAGES, filters=filters)
    groups = group_by_article(hits, k)
    if as_json:
        _dump([g.to_dict() for g in groups])
        return
    for line in render_search(groups):
        typer.echo(printable(line))


@app.command()
@friendly
def ask(
    question: Annotated[str, typer.Argument(help="The question.", metavar="QUESTION")],
    index: IndexOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Answer as of this day (YYYY-MM-DD).")
    ] = None,
    llm: Annotated[
        str | None, typer.Option(help="Chat model spec, e.g. openai:gpt-4o-mini.")
    ] = None,
    source: SourceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the indexed articles, citing them, or say they don't say."""
    from rag.answer import Answer
    from rag.events import Evidence, Retrieved, Token

    byline = _open(index, llm=llm)
    filters = {"sources": source, "since": since, "until": until}
    live = not as_json and sys.stdout.isatty()
    if live:
        typer.echo("loading model…", err=True)
        model, _ = byline.chat_model()
        load = getattr(model, "loaded", None)
        if callable(load):  # the embedded model: load it now, not inside the first answer
            load()
    answer: Answer | None = None
    writing = False
    for item in byline.stream(question, as_of=as_of, filters=filters):
        if isinstance(item, Answer):
            answer = item
        elif not live:
            continue
        elif isinstance(item, Retrieved) and not item.abstaining:
            typer.echo("Reading:")
            for src in item.sources:
                day = (src["published_at"] or "")[:10]
                typer.echo(printable(f"  [{src['n']}] {src['title']} — {src['source']} {day}"))
        elif isinstance(item, Evidence) and item.quotes:
            typer.echo("What they say:")
            for q in item.quotes:
                typer.echo(printable(f"  “{' '.join(q.text.split())}” [{q.n}]"))
        elif isinstance(item, Token):
            if not writing:
                typer.echo("")
                writing = True
            typer.echo(printable(item.text), nl=False)
    assert answer is not None
    if as_json:
        _dump(answer.to_dict())
        return
    if live:
        typer.echo("\n\nChecked answer:")
    typer.echo(printable(answer.text))
    for s in answer.sentences:
        if not s.supported:
            typer.echo(printable(f"  ! not supported by its sources: {s.text}"))
    typer.echo("")
    if answer.abstained:
        if answer.closest_quote:
            q = answer.closest_quote
            quote = " ".join(q["text"].split())
            typer.echo(printable(f"The closest the articles come: “{quote}”"))
            day = (q["published_at"] or "")[:10]
            typer.echo(printable(f"  — {q['title']}, {q['source']} {day}"))
            typer.echo("")
        typer.echo("Closest articles:")
        for src in answer.sources:
            day = (src["published_at"] or "")[:10]
            typer.echo(printable(f"  - {src['title']} — {src['source']} {day}"))
            typer.echo(printable(f"    {src['url']}"))
        return
    for c in answer.citations:
        how = " (attributed)" if c.attributed else ""
        day = (c.published_at or "")[:10]
        typer.echo(printable(f"[{c.n}] {c.title} — {c.source} {day}{how}"))
        typer.echo(printable(f"    {c.url}"))
        typer.echo(printable("    “" + " ".join(c.passage.split())[:300] + "”"))


@app.command()
@friendly
def stats(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Articles, chunks, publishers and date span of an index."""
    data = _open(index).stats()
    if as_json:
        _dump(data)
        return
    typer.echo(f"index      {data['index']}")
    typer.echo(f"articles   {data['articles']}   chunks {data['chunks']}")
    typer.echo(f"published  {data['first_published']} … {data['last_published']}")
    typer.echo(f"embedder   {data['embed_model']}")
    publishers = ", ".join(f"{k or '(none)'} ({v})" for k, v in data["publishers"].items())
    typer.echo(printable("publishers " + publishers))


@app.command()
@friendly
def check(
    index: IndexOpt = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what differs (re-reads affected files).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check that the vector store, the manifest and the lexical index agree (exit 1 if not)."""
    report = _open(index).check(repair=repair)
    if as_json:
        _dump(report.to_dict())
    else:
        if report.repaired:
            typer.echo("repaired: " + ", ".join(f"{k} {v}" for k, v in report.repaired.items()))
        for line in report.lines():
            typer.echo(printable(line))
        if report.ok:
            typer.echo("index is consistent: store, manifest and lexical index agree")
        elif not repair:
            typer.echo("run `byline check --repair` to fix it")
    if not report.ok:
        raise typer.Exit(1)


@app.command("config")
@friendly
def show_config(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Print the resolved configuration as TOML to paste into byline.toml (--json for JSON)."""
    from rag.cli_format import to_toml
    from rag.config import TUNING_FROM, Settings

    values = Settings.load(index_dir=index).public_dict()
    if as_json:
        _dump(values)
        return
    notes = {name: f.description for name, f in Settings.model_fields.items()}
    typer.echo(to_toml(values, notes, tuning_from=TUNING_FROM), nl=False)


@app.command()
@friendly
def chat(
    index: IndexOpt = None,
    host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it private.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 7860,
    llm: Annotated[
        str | None, typer.Option(help="Chat model spec, e.g. openai:gpt-4o-mini.")
    ] = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Index the bundled demo corpus first if there is no index."),
    ] = False,
    auth_file: Annotated[
        Path | None,
        typer.Option(help="File of 'user:password' lines: the page's login (page_auth_file)."),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth", help="Serve off loopback without a login: anyone who reaches it may ask."
        ),
    ] = False,
    ingest: Annotated[
        bool,
        typer.Option(
            "--ingest",
            help="Show the Ingest tab off loopback too (it is on for loopback, off otherwise).",
        ),
    ] = False,
) -> None:
    """Start the web UI (streaming chat with citations and a sources panel). Any host other
    than 127.0.0.1, localhost or ::1 needs a login (--auth-file or page_auth_env) or --no-auth."""
    from ui.app import launch

    launch(
        index=index,
        host=host,
        port=port,
        llm=llm,
        demo=demo,
        no_auth=no_auth,
        ingest=True if ingest else None,
        auth_file=auth_file,
    )


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
@friendly
def run_eval(ctx: typer.Context) -> None:
    """Run an eval suite and write a JSON result and a Markdown report (see `byline eval --help`)."""
    from evals.cli import main as eval_main

    raise typer.Exit(eval_main(list(ctx.args)))


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
@friendly
def run_bench(ctx: typer.Context) -> None:
    """Benchmark ingest, retrieval and answering; prints a table and writes JSON."""
    from evals.bench import main as bench_main

    raise typer.Exit(bench_main(list(ctx.args)))


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="byline")


if __name__ == "__main__":
    main()
    sys.exit(0)
