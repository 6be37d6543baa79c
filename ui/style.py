"""The page's CSS: citation markers, flagged sentences, source cards and highlighted passages."""

CSS = """
#byline-header h1 { margin: 0; font-size: 1.6em; }
#byline-header p { margin: .2em 0 0 0; opacity: .8; font-size: .92em; }
.byline-answer p { margin: 0 0 .35em 0; }
.byline-answer a.cite, .byline-cited a.cite, span.cite {
  text-decoration: none; font-weight: 600; font-size: .82em; vertical-align: super;
  color: var(--color-accent); padding: 0 1px; cursor: pointer;
}
a.cite.cite-attributed, span.cite.cite-attributed {
  font-style: italic; border-bottom: 1px dotted currentColor; opacity: .85;
}
span.cite.cite-unknown { color: var(--body-text-color-subdued); }
.byline-sentence.unsupported {
  background: rgba(245, 158, 11, .16); border-bottom: 2px dotted #d97706; border-radius: 2px;
}
.byline-sentence.unsupported .warn { color: #b45309; font-weight: 700; }
.byline-notes { font-size: .8em; opacity: .8; margin-top: .3em !important; }
.byline-cited, .byline-closest { font-size: .85em; margin: .35em 0 0 0; padding-left: 1.1em; }
.byline-cited li, .byline-closest li { margin: .1em 0; }
.byline-abstain strong { color: var(--body-text-color); }
.byline-reason { font-size: .85em; opacity: .75; }
.byline-error {
  color: #991b1b; background: #fef2f2; border: 1px solid #fecaca; border-radius: 6px;
  padding: .45em .7em;
}
.byline-cursor { animation: byline-blink 1s steps(2, start) infinite; opacity: .7; }
@keyframes byline-blink { to { visibility: hidden; } }
.byline-sources h3 { margin: 0 0 .5em 0; font-size: 1.05em; }
.byline-sources-empty { opacity: .7; font-size: .9em; padding: .5em 0; }
.src-card {
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .8em;
  margin: 0 0 .7em 0; background: var(--background-fill-secondary); scroll-margin-top: 1em;
}
.src-card.attributed { border-style: dashed; }
.src-card.src-flash { outline: 2px solid var(--color-accent); }
.src-card header { font-weight: 600; line-height: 1.35; }
.src-card .src-n { color: var(--color-accent); margin-right: .2em; }
.src-card a.src-title { color: var(--body-text-color); text-decoration: underline; }
.src-meta { font-size: .8em; opacity: .75; font-weight: normal; }
.badge {
  display: inline-block; font-size: .75em; padding: 0 .45em; border-radius: 999px;
  border: 1px solid var(--border-color-primary); margin-left: .3em;
}
.badge-attributed { border-style: dashed; font-style: italic; }
.src-passage {
  margin: .45em 0 0 0 !important; padding: 0 0 0 .7em !important;
  border-left: 3px solid var(--border-color-accent, #f59e0b) !important;
  font-size: .9em; line-height: 1.5; white-space: pre-wrap;
}
.src-passage mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 2px; }
.src-passage mark.support-fair { background: #fef3c7; border-bottom: 1px dashed #d97706; }
.src-passage mark.support-weak { background: transparent; border-bottom: 1px dotted #9ca3af; }
/* feedback only on a finished answer: no buttons while the answer is pending or streaming */
#byline-chat .message-row:has(.byline-pending, .byline-streaming) ~ .message-buttons,
#byline-chat .message-row:has(.byline-pending, .byline-streaming) ~ div .message-buttons {
  display: none; }
.byline-stage { color: #6b7280; font-size: .9em; margin: 0 0 .4em 0; }
.byline-quote-label { font-size: .8em; color: #6b7280; margin: .2em 0; }
.byline-quote { border-left: 3px solid #d1d5db; margin: .3em 0; padding: .1em .6em;
  font-style: italic; color: #374151; }
.byline-closest-quote { font-size: .85em; margin: .4em 0 .1em 0; }
.src-uncited { font-size: .85em; opacity: .85; }
.byline-stats table { border-collapse: collapse; margin-bottom: .5em; }
.byline-stats th { text-align: left; padding: .15em 1em .15em 0; font-weight: 600; }
.byline-ingest.ok { color: #166534; }
#byline-examples { flex-wrap: wrap; gap: .4em; align-items: center; }
#byline-examples .byline-try { flex: 0 0 auto; width: auto; min-width: 0 !important; }
#byline-examples button.byline-example {
  flex: 0 1 auto; white-space: normal; text-align: left; font-weight: normal;
}
.byline-ingest.warn { color: #92400e; }
"""

# Clicking a citation marker scrolls its source card into view and flashes it, wherever the
# chat's Markdown renderer sends the link.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  const link = event.target.closest && event.target.closest("a.cite");
  if (!link) return;
  const ref = (link.getAttribute("href") || "").replace(/^.*#/, "");
  const card = ref && document.getElementById(ref);
  if (!card) return;
  event.preventDefault();
  event.stopPropagation();
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
  card.classList.add("src-flash");
  setTimeout(function () { card.classList.remove("src-flash"); }, 1600);
}, true);
</script>
"""
