"""``python -m evals.bench_injection``: the injection variants end to end with a real model.

Writes the variants' small articles (``evals.injection``) and a few demo-corpus articles into
a temporary index built with the configured embedder, asks each variant's question with the
configured chat model (the embedded one by default) and counts the attacks followed: written
by the model (``in_draft``) and shown by the checked answer as a supported claim (``shown``,
the goal is 0). With the embedded model it also counts the special tokens in one rendered
prompt whose passage carries ``<|im_end|>`` / ``<|im_start|>``, against what the chat
template itself puts there.

Prints a table and writes ``evals/results/bench-injection-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.bench_ingest import print_table, write_json
from evals.injection import Case, cases, followed, write_cases
from evals.results import DEFAULT_OUT, git_commit

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "articles"
AS_OF = "2025-03-10"


def special_tokens(llama: Any, messages: Sequence[dict[str, str]]) -> list[str]:
    """The control tokens llama.cpp's chat completion would read in ``messages``: rendered
    with the model's own chat template, tokenised with special-token parsing on, as
    ``create_chat_completion`` does."""
    import llama_cpp
    from llama_cpp import llama_chat_format

    vocab = llama._model
    formatter = llama_chat_format.Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=vocab.token_get_text(llama.token_eos()),
        bos_token=vocab.token_get_text(llama.token_bos()),
    )
    rendered = formatter(messages=list(messages))
    ids = llama.tokenize(
        rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
    )
    flags = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    return [vocab.token_get_text(t) for t in ids if vocab.token_get_attr(t) & flags]


def prompt_messages(byline: Any, question: str, neutralised: bool = True) -> list[dict[str, str]]:
    """The answer prompt the chain would send for ``question``, as chat messages; with
    ``neutralised`` False, the passages go in raw (what an unprotected prompt would hold)."""
    from rag.local_model import _message_dict
    from rag.retrieval.filters import Filters

    chain = byline.chain()
    model, _ = byline.chat_model()
    prep = chain.prepare(question, None, AS_OF, Filters(), model)
    from rag.prompting import answer_inputs

    inputs = answer_inputs(prep.sources, prep.as_of, prep.query)
    if not neutralised:
        inputs["sources"] = "\n".join(
            f'<source id="{s.n}">\n{s.hit.title} ({s.hit.source}, '
            f"{(s.hit.published_at or '')[:10]})\n{s.passage}\n</source>"
            for s in prep.sources
        )
    return [_message_dict(m) for m in chain._answer_prompt.format_messages(**inputs)]


def token_check(byline: Any, case: Case) -> dict[str, Any] | None:
    """Special tokens in the rendered prompt of ``case`` (a passage with role tokens): found,
    expected from the template alone, and found without neutralising the passages."""
    model, _ = byline.chat_model()
    loaded = getattr(model, "loaded", None)
    if not callable(loaded):
        return None
    llama = loaded().llama
    messages = prompt_messages(byline, case.question)
    raw = prompt_messages(byline, case.question, neutralised=False)
    return {
        "variant": case.variant.name,
        "expected": 2 * len(messages) + 1,  # <|im_start|> and <|im_end|> per message, then one
        "found": len(special_tokens(llama, messages)),
        "found_unprotected": len(special_tokens(llama, raw)),
    }


def run(
    llm: str | None,
    corpus_files: int,
    limit: int | None,
    workdir: Path,
    control: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Index the cases (and ``corpus_files`` demo articles) in ``workdir``, ask every case's
    question and count what was followed; ``overrides`` go to ``Byline.open``."""
    from rag.app import Byline

    chosen = cases(control)[:limit] if limit else cases(control)
    docs = workdir / "docs"
    write_cases(docs, chosen)
    for path in sorted(CORPUS.glob("*.md"))[:corpus_files]:
        shutil.copy(path, docs / path.name)
    if llm:
        overrides["llm"] = llm
    byline = Byline.open(workdir / "index", **overrides)
    report = byline.ingest([docs])
    rows = []
    for case in chosen:
        t0 = time.perf_counter()
        answer = byline.ask(case.question, as_of=AS_OF)
        seconds = time.perf_counter() - t0
        outcome = followed(case, answer)
        rows.append(
            {
                "variant": case.variant.name,
                "where": case.variant.where,
                **outcome,
                "abstained": answer.abstained,
                "answered_news_question": (not answer.abstained) and case.answer in answer.text,
                "article_in_sources": case.article_id
                in [s.get("article_id") for s in answer.sources],
                "draft": answer.draft,
                "text": answer.text,
                "seconds": round(seconds, 2),
            }
        )
        print(
            f"{case.variant.name:24} shown={outcome['shown']!s:5} draft={outcome['in_draft']!s:5}"
            f" abstained={answer.abstained!s:5} {seconds:5.1f}s  {answer.text[:70]!r}",
            flush=True,
        )
    tokens = next((c for c in chosen if c.variant.name == "role-tokens"), None)
    check = token_check(byline, tokens) if tokens else None
    byline.close()
    return {
        "kind": "bench-injection-control" if control else "bench-injection",
        "git_commit": git_commit(),
        "llm": byline.settings.llm,
        "embed_model": byline.settings.embed_model,
        "articles_indexed": report.articles,
        "variants": len(rows),
        "followed_shown": sum(r["shown"] for r in rows),
        "followed_in_draft": sum(r["in_draft"] for r in rows),
        "abstained": sum(r["abstained"] for r in rows),
        "answered_news_question": sum(r["answered_news_question"] for r in rows),
        "article_in_sources": sum(r["article_in_sources"] for r in rows),
        "special_tokens": check,
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.bench_injection",
        description="Run the prompt-injection variants end to end and count those followed.",
    )
    parser.add_argument("--llm", help="Chat model spec (default: the configured one).")
    parser.add_argument(
        "--corpus-files", type=int, default=6, help="Demo-corpus articles indexed beside them."
    )
    parser.add_argument("--limit", type=int, help="Run only the first N variants.")
    parser.add_argument(
        "--control",
        action="store_true",
        help="The same articles and questions without the attacks (how often they are answered).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Folder for the JSON.")
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    from rag.errors import RagError

    try:
        with tempfile.TemporaryDirectory(prefix="byline-injection-") as tmp:
            result = run(args.llm, args.corpus_files, args.limit, Path(tmp), args.control)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = [
        ("variants", str(result["variants"])),
        ("followed, shown as supported (goal 0)", str(result["followed_shown"])),
        ("followed in the model's draft", str(result["followed_in_draft"])),
        ("abstained", str(result["abstained"])),
        ("news question answered with its figure", str(result["answered_news_question"])),
        ("attacked article among the sources", str(result["article_in_sources"])),
    ]
    if result["special_tokens"]:
        t = result["special_tokens"]
        rows.append(
            (
                "special tokens in a role-token prompt",
                f"{t['found']} (template: {t['expected']}, unprotected: {t['found_unprotected']})",
            )  # fmt: skip
        )
    print_table(f"Prompt injection ({result['llm']})", rows)
    print(f"wrote {write_json(result, args.out, result['kind'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
