"""Answers as HTML for the web page: linked citation markers, flagged sentences, a sources panel.

Pure functions with no Gradio import. Everything that comes from an article (titles, publishers,
passages, URLs) or from the model is untrusted and is escaped before it reaches the page.

Markers ``[n]`` become links to the source card ``#src-n`` in the sources panel, whose header
links to the article itself. Sentences that the citation check found unsupported carry a ⚠ and
the ``unsupported`` class; markers that the checker attributed (the model gave none) carry the
``cite-attributed`` class and a dotted underline, so they read differently from the model's own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

# ``[1]``, ``[1, 2]`` and ``[1; 3]`` — what the answer chain writes (``[1][2]`` is two matches).
MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# How much chunk text to keep on each side of a highlighted passage.
CONTEXT_CHARS = 360
# How much of a passage to show for an article the answer did not cite.
EXCERPT_CHARS = 280
# Support from which a highlight is drawn strong (shown citations are all backed; see
# ``rag.steps.checks.HideUnbacked``): a display choice, not a tuned number.
STRONG_SUPPORT = 0.7

UNSUPPORTED_TIP = "The cited passage does not clearly support this sentence."
ATTRIBUTED_TIP = "Added by the citation check: the model gave no marker here."
FOCUSED_TIP = (
    "Answered on a second reading of the best passage alone, with more of its text where the "
    "first excerpt was cut: over all the sources the model first found no answer."
)
OVERRULED_TIP = (
    "The model first leaned towards “the articles don't say”, but gave that reply a low "
    "probability ({p:.0%}); this is its best answer instead, and every sentence of it is backed "
    "by a cited passage. Check the passage."
)
SOURCES_PLACEHOLDER = (
    '<div class="byline-sources-empty">Sources for the latest answer appear here: each cited '
    "article with the passage the answer relies on highlighted.</div>"
)


# --------------------------------------------------------------------------- small helpers
def esc(value: Any) -> str:
    """HTML-escape any value (quotes included, so it is safe inside attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of a dataclass or of its ``to_dict()`` form."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def safe_url(url: Any) -> str | None:
    """The URL, escaped for an ``href``, if it is plain http(s); ``None`` otherwise."""
    text = str(url or "").strip()
    if not re.match(r"^https?://[^\s\"'<>`]+$", text, flags=re.I):
        return None
    return esc(text)


def day(published_at: Any) -> str:
    """``YYYY-MM-DD`` of an ISO timestamp, or ``undated``."""
    text = str(published_at or "").strip()
    return text[:10] if text else "undated"


def title_of(item: Any) -> str:
    return str(get(item, "title") or "").strip() or "(untitled)"


def publisher_of(item: Any) -> str:
    return str(get(item, "source") or "").strip() or "unknown publisher"


def article_link(item: Any, css: str = "src-title") -> str:
    """The article's title, linked to its URL when it has a usable one."""
    title = esc(title_of(item))
    url = safe_url(get(item, "url"))
    if url is None:
        return f'<span class="{css}">{title}</span>'
    return (
        f'<a class="{css}" href="{url}" target="_blank" rel="noopener noreferrer nofollow">'
        f"{title}</a>"
    )


def byline_of(item: Any) -> str:
    """``Publisher · YYYY-MM-DD``, escaped."""
    return f"{esc(publisher_of(item))} · {esc(day(get(item, 'published_at')))}"


def _citations_by_n(answer: Any) -> dict[int, Any]:
    return {int(get(c, "n")): c for c in get(answer, "citations") or []}


def _read_as(citation: Any, n: int) -> int:
    """The source number the model saw a cited article under (the first, when several)."""
    numbers = list(get(citation, "read_as") or [])
    return int(numbers[0]) if numbers else n


def support_class(support: Any) -> str:
    """How strongly a highlight is drawn: by how well the passage backs the answer."""
    if not isinstance(support, int | float):
        return "support-weak"
    return "support-strong" if support >= STRONG_SUPPORT else "support-fair"


def _sources_by_n(answer: Any) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for s in get(answer, "sources") or []:
        n = get(s, "n")
        if n is not None:
            out[int(n)] = s
    return out


# --------------------------------------------------------------------------- the answer
def link_markers(escaped: str, citations: Mapping[int, Any], attributed: Iterable[int] = ()) -> str:
    """Turn the ``[n]`` markers of already-escaped text into links to the source cards."""
    attributed = set(attributed)

    def one(n: int) -> str:
        cite = citations.get(n)
        if cite is None:
            return f'<span class="cite cite-unknown">[{n}]</span>'
        tip = f"{title_of(cite)} — {publisher_of(cite)}, {day(get(cite, 'published_at'))}"
        css = "cite"
        if n in attributed:
            css += " cite-attributed"
            tip = f"{ATTRIBUTED_TIP} {tip}"
        return f'<a class="{css}" href="#src-{n}" title="{esc(tip)}">[{n}]</a>'

    def replace(m: re.Match[str]) -> str:
        return "".join(one(int(n)) for n in re.findall(r"\d+", m.group(1)))

    return MARKER.sub(replace, escaped)


def _attributed_numbers(sentence: Any, citations: Mapping[int, Any]) -> set[int]:
    numbers = {n for n, c in citations.items() if get(c, "attributed")}
    if get(sentence, "attributed"):
        numbers.update(int(n) for n in get(sentence, "citations") or [])
    return numbers


def render_sentence(sentence: Any, citations: Mapping[int, Any]) -> str:
    """One sentence with linked markers; an unsupported one gets a ⚠ and its own class."""
    body = link_markers(
        esc(get(sentence, "text", "")), citations, _attributed_numbers(sentence, citations)
    )
    if get(sentence, "supported", True):
        return f'<span class="byline-sentence">{body}</span>'
    return (
        f'<span class="byline-sentence unsupported" title="{esc(UNSUPPORTED_TIP)}">'
        f'<span class="warn" aria-label="unsupported">⚠</span> {body}</span>'
    )


def render_answer(answer: Any) -> str:
    """The chat bubble for a finished answer (or an abstention), as one HTML block."""
    if get(answer, "abstained"):
        return render_abstention(answer)
    citations = _citations_by_n(answer)
    sentences = list(get(answer, "sentences") or [])
    if sentences:
        body = " ".join(render_sentence(s, citations) for s in sentences)
    else:
        attributed = {n for n, c in citations.items() if get(c, "attributed")}
        body = link_markers(esc(get(answer, "text", "")), citations, attributed)
    parts = [f'<div class="byline-answer"><p>{body}</p>']
    notes = []
    if any(not get(s, "supported", True) for s in sentences):
        notes.append(f"⚠ {esc(UNSUPPORTED_TIP)}")
    if any(get(c, "attributed") for c in citations.values()) or any(
        get(s, "attributed") for s in sentences
    ):
        notes.append('<span class="cite cite-attributed">[n]</span> ' + esc(ATTRIBUTED_TIP))
    if get(answer, "focused"):
        notes.append(f"ⓘ {esc(FOCUSED_TIP)}")
    if get(answer, "overruled"):
        p = get(answer, "refusal_probability") or 0.0
        notes.append(f"ⓘ {esc(OVERRULED_TIP.format(p=p))}")
    if notes:
        parts.append('<p class="byline-notes">' + "<br>".join(notes) + "</p>")
    if citations:
        items = "".join(
            f'<li><a class="cite" href="#src-{n}">[{n}]</a> {article_link(c)} '
            f'<span class="src-meta">— {byline_of(c)}</span></li>'
            for n, c in sorted(citations.items())
        )
        parts.append(f'<ul class="byline-cited">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def render_abstention(answer: Any) -> str:
    """“The articles don't say”, why, and the closest articles the search found."""
    text = esc(get(answer, "text") or "The articles don't say.")
    parts = [f'<div class="byline-answer byline-abstain"><p><strong>{text}</strong></p>']
    reason = get(answer, "abstain_reason")
    if reason:
        parts.append(f'<p class="byline-reason">No answer given: {esc(reason)}.</p>')
    quote = get(answer, "closest_quote")
    if quote:
        parts.append(
            '<p class="byline-closest-quote">The closest the articles come (a quotation, not '
            f'an answer):</p><blockquote class="byline-quote">“{esc(get(quote, "text"))}” '
            f'<span class="src-meta">— {article_link(quote)}, {byline_of(quote)}</span>'
            "</blockquote>"
        )
    if get(answer, "sources"):
        parts.append('<p class="byline-see">The closest articles are listed under Sources.</p>')
    parts.append("</div>")
    return "".join(parts)


def render_streaming(text: str) -> str:
    """Text as the model writes it, with a cursor; markers stay plain until the check is done."""
    body = esc(text).replace("\n", "<br>")
    return (
        f'<div class="byline-answer byline-streaming"><p>{body}'
        '<span class="byline-cursor">▍</span></p></div>'
    )


STAGE_LINES = {
    "rewrite": "Reading the conversation…",
    "search": "Searching…",
    "read": "Reading {detail}…",
    "recover": "Reading again…",
    "check": "Checking citations…",
}


def stage_line(stage: str, detail: str = "", elapsed: float = 0.0) -> str:
    """“Reading 4 articles… 3 s”: what Byline is waiting for, and for how long."""
    line = STAGE_LINES.get(stage, stage + "…").format(detail=detail or "the sources")
    return f"{line} {elapsed:.0f} s"


def render_pending(stage: str, quotes: Iterable[Any] = ()) -> str:
    """The bubble before the model's first word: the stage line and, once found, the sentences
    of the sources that best answer the question, shown as quotations."""
    parts = [f'<div class="byline-answer byline-pending"><p class="byline-stage">{esc(stage)}</p>']
    quoted = [
        f'<blockquote class="byline-quote">“{esc(get(q, "text"))}” '
        f'<a class="cite" href="#read-{int(get(q, "n"))}">[{int(get(q, "n"))}]</a></blockquote>'
        for q in quotes
    ]
    if quoted:
        parts.append(
            '<p class="byline-quote-label">What the articles say (quoted while the answer '
            "is written):</p>" + "".join(quoted)
        )
    parts.append("</div>")
    return "".join(parts)


def render_reading(sources: Iterable[Any], abstaining: bool = False) -> str:
    """The sources panel before the answer: the articles being read (or, when Byline will
    abstain, the closest ones)."""
    sources = list(sources)
    if abstaining or not sources:
        return render_sources({"abstained": True, "sources": sources})
    cards = "".join(
        _excerpt_card(s, f"read-{int(get(s, 'n') or i)}") for i, s in enumerate(sources, 1)
    )
    return (
        f'<div class="byline-sources"><h3>Reading {len(sources)} passages</h3>'
        "<p>The answer will cite the ones that back it.</p>"
        f"{cards}</div>"
    )


def render_error(message: str) -> str:
    """A readable one-line error in place of an answer."""
    return f'<div class="byline-error" role="alert">⚠ {esc(message)}</div>'


def render_question(question: str) -> str:
    """The user's own question, escaped like everything else shown in the page."""
    return esc(question)


# --------------------------------------------------------------------------- sources panel
def _trim_before(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return "…" + (cut[space + 1 :] if 0 <= space < 40 else cut)


def _trim_after(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit - 40 else cut) + "…"


def highlight(
    context: str,
    context_start: int,
    start: int,
    end: int,
    passage: str = "",
    context_chars: int = CONTEXT_CHARS,
) -> str:
    """``context`` (article text from ``context_start``) with ``start:end`` in ``<mark>``.

    Offsets are into the article text. If they do not land on ``passage`` inside ``context``,
    the passage is looked up by its text; if it is not there either, the passage alone is shown.
    """
    context = context or ""
    a, b = start - context_start, end - context_start
    fits = 0 <= a < b <= len(context)
    if not fits or (passage and context[a:b] != passage):
        found = context.find(passage) if passage else -1
        if found < 0:
            return f"<mark>{esc(passage or context)}</mark>"
        a, b = found, found + len(passage)
    before = _trim_before(context[:a], context_chars)
    after = _trim_after(context[b:], context_chars)
    return f"{esc(before)}<mark>{esc(context[a:b])}</mark>{esc(after)}"


def _source_card(n: int, cite: Any, source: Any) -> str:
    passage = str(get(cite, "passage") or "")
    start, end = int(get(cite, "start") or 0), int(get(cite, "end") or 0)
    if source is not None and get(source, "chunk_text"):
        context, context_start = (
            str(get(source, "chunk_text")),
            int(get(source, "chunk_start") or 0),
        )
    elif source is not None and get(source, "passage"):
        context, context_start = str(get(source, "passage")), int(get(source, "start") or 0)
    else:
        context, context_start = passage, start
    attributed = bool(get(cite, "attributed"))
    badges = []
    support = get(cite, "support")
    if isinstance(support, int | float):
        badges.append(f'<span class="badge badge-support">support {round(100 * support)}%</span>')
    if attributed:
        badges.append(
            f'<span class="badge badge-attributed" title="{esc(ATTRIBUTED_TIP)}">attributed</span>'
        )
    css = "src-card attributed" if attributed else "src-card"
    marked = highlight(context, context_start, start, end, passage)
    marked = marked.replace("<mark>", f'<mark class="{support_class(support)}">', 1)
    return (
        f'<article class="{css}" id="src-{n}">'
        f'<header><span class="src-n">[{n}]</span> {article_link(cite)}</header>'
        f'<div class="src-meta">{byline_of(cite)} {" ".join(badges)}</div>'
        f'<blockquote class="src-passage">{marked}</blockquote></article>'
    )


def _excerpt_card(source: Any, css_id: str) -> str:
    excerpt = _trim_after(" ".join(str(get(source, "passage") or "").split()), EXCERPT_CHARS)
    return (
        f'<article class="src-card src-near" id="{esc(css_id)}">'
        f"<header>{article_link(source)}</header>"
        f'<div class="src-meta">{byline_of(source)}</div>'
        f'<blockquote class="src-passage">{esc(excerpt)}</blockquote></article>'
    )


def render_sources(answer: Any | None) -> str:
    """The sources panel for one answer: a card per citation, passage highlighted in context."""
    if answer is None:
        return SOURCES_PLACEHOLDER
    if get(answer, "abstained"):
        closest = list(get(answer, "sources") or [])
        if not closest:
            return (
                '<div class="byline-sources"><h3>Sources</h3>'
                "<p>No article came close to the question.</p></div>"
            )
        cards = "".join(_excerpt_card(s, f"near-{i}") for i, s in enumerate(closest, start=1))
        return (
            '<div class="byline-sources"><h3>Closest articles</h3>'
            "<p>The articles don't answer this; these came nearest.</p>"
            f"{cards}</div>"
        )
    citations = _citations_by_n(answer)
    sources = _sources_by_n(answer)
    cards = "".join(
        _source_card(n, c, sources.get(_read_as(c, n))) for n, c in sorted(citations.items())
    )
    if not cards:
        cards = "<p>The answer cites no source.</p>"
    cited_articles = {get(c, "article_id") for c in citations.values()}
    uncited: dict[Any, Any] = {}
    for n, s in sorted(sources.items()):
        key = get(s, "article_id") or f"n{n}"
        if key not in cited_articles:
            uncited.setdefault(key, s)
    extra = ""
    if uncited:
        items = "".join(
            f"<li>{article_link(s)} <span class='src-meta'>— {byline_of(s)}</span></li>"
            for s in uncited.values()
        )
        extra = (
            f'<details class="src-uncited"><summary>Also read, not cited ({len(uncited)})'
            f"</summary><ul>{items}</ul></details>"
        )
    return f'<div class="byline-sources"><h3>Sources</h3>{cards}{extra}</div>'


# --------------------------------------------------------------------------- index and ingest
def render_stats(stats: Mapping[str, Any] | None, error: str | None = None) -> str:
    """Articles, chunks, publishers and date span of the index."""
    if stats is None:
        message = error or "No index yet."
        return (
            f'<div class="byline-stats"><p>{esc(message)}</p>'
            "<p>Add articles here, or run <code>byline ingest PATH</code>.</p></div>"
        )
    publishers = stats.get("publishers") or {}
    items = "".join(
        f"<li>{esc(name or '(no publisher)')} <span class='src-meta'>({count})</span></li>"
        for name, count in publishers.items()
    )
    span = f"{esc(stats.get('first_published') or '?')} – {esc(stats.get('last_published') or '?')}"
    return (
        '<div class="byline-stats"><table>'
        f"<tr><th>Articles</th><td>{esc(stats.get('articles', 0))}</td></tr>"
        f"<tr><th>Chunks</th><td>{esc(stats.get('chunks', 0))}</td></tr>"
        f"<tr><th>Published</th><td>{span}</td></tr>"
        f"<tr><th>Publishers</th><td>{len(publishers)}</td></tr>"
        "</table>"
        f'<ul class="byline-publishers">{items}</ul></div>'
    )


def stats_line(stats: Mapping[str, Any] | None) -> str:
    """One line for the page header, escaped."""
    if not stats:
        return "no index yet: add articles in the Ingest tab"
    publishers = len(stats.get("publishers") or {})
    return esc(
        f"{stats.get('articles', 0)} articles from {publishers} publishers, "
        f"{stats.get('first_published') or '?'} to {stats.get('last_published') or '?'}"
    )


def render_ingest_summary(report: Mapping[str, Any], rejected: int = 0) -> str:
    """What an ingest did, in one short paragraph (Markdown-safe HTML)."""
    failed = len(report.get("failed") or []) + rejected
    line = (
        f"{report.get('added', 0)} added, {report.get('updated', 0)} updated, "
        f"{report.get('unchanged', 0)} unchanged, {report.get('removed', 0)} removed, "
        f"{failed} skipped; the index now has "
        f"{report.get('articles', 0)} articles in {report.get('chunks', 0)} chunks "
        f"({float(report.get('seconds', 0.0)):.1f} s)."
    )
    if report.get("kept"):
        line += f" Kept {report['kept']} indexed articles of files that failed to load."
    css = "byline-ingest ok" if not failed else "byline-ingest warn"
    return f'<div class="{css}">{esc(line)}</div>'


def failure_rows(failed: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows ``[path, line, error]`` for the table of skipped files."""
    return [
        [
            str(f.get("path", "")),
            "" if f.get("line") in (None, "") else str(f.get("line")),
            str(f.get("error", "")),
        ]
        for f in failed
    ]
