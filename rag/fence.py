"""Article text as data: what is done to untrusted text before it enters a prompt.

Sources reach the model inside ``<source id="n">…</source>`` fences, and an embedded model's
chat completion parses its chat template's special tokens (``<|im_end|>``, ``<|im_start|>``…)
out of the whole rendered prompt. So anything that could close a fence, open a new one or turn
into a role token must not survive in article text, a question or a conversation turn:

- invisible format characters (zero-width spaces and joiners, soft hyphens, bidi controls) are
  dropped, so they cannot hide a tag from the checks below or from a reader of the prompt;
- HTML entities for ``<``, ``>``, ``/`` and ``|`` are decoded first, so ``&lt;/source&gt;`` is
  seen for the tag it spells;
- every tag-like construct — ``<`` (or a look-alike: full-width ``＜``, small ``﹤``, angle
  brackets ``〈⟨‹``…) followed by ``/``, ``|``, ``!``, ``<`` or a tag name, with or without
  its closing ``>`` — has its brackets replaced by parentheses: ``</SOURCE >`` becomes
  ``(/SOURCE )`` and ``<|im_end|>`` becomes ``(|im_end|)``. Special tokens of the common chat
  templates all start with ``<``, so none can be formed from the result, whatever the backend;
- the bracketed control words of Llama and Mistral templates (``[INST]``, ``[/INST]``,
  ``[SYSTEM_PROMPT]``…) become parenthesised the same way.

Comparisons such as ``a < b`` or ``<5%`` are left alone: a ``<`` followed by a space and a
digit, or by nothing tag-like, opens no tag.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing: zero-width space/joiners, word joiner, invisible operators,
# soft hyphen, Mongolian vowel separator, bidi embeddings and isolates, byte-order mark, tags.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)

# Entities that spell the characters a tag is made of (with or without the closing ';').
_ENTITIES = (
    (re.compile(r"&(?:lt|#0*60|#x0*3c);?", re.I), "<"),
    (re.compile(r"&(?:gt|#0*62|#x0*3e);?", re.I), ">"),
    (re.compile(r"&(?:sol|#0*47|#x0*2f);", re.I), "/"),
    (re.compile(r"&(?:vert|verbar|#0*124|#x0*7c);", re.I), "|"),
)

# Opening and closing look-alikes of < and >.
_OPENERS = "<\uff1c\ufe64\u2329\u3008\u27e8\u2039\u276e\u276c\u29fc\u02c2\u1438\u227a"
_CLOSERS = ">\uff1e\ufe65\u232a\u3009\u27e9\u203a\u276f\u276d\u29fd\u02c3\u1433\u227b"
_SLASHES = "/\uff0f\u2044\u2215\u29f8"
_BARS = "|\uff5c\u2223\u01c0\u05c0\u2502"
_OPEN = f"[{_OPENERS}]"
_CLOSE = f"[{_CLOSERS}]"
_SPACE = r"[^\S\n]*"

# A tag: an opener, then a slash, bar, '!', another opener or a letter (any script), then up
# to 80 characters on the same line to its closer. Without a closer, only an opener followed
# by a slash, bar, '!' or another opener counts (``</source`` at the end of a passage).
_TAG = re.compile(
    rf"{_OPEN}(?P<body>{_SPACE}(?:[{_SLASHES}{_BARS}!{_OPENERS}]|[^\W\d_])[^\n{_OPENERS}{_CLOSERS}]{{0,80}}?){_CLOSE}"
)
_BARE_OPEN = re.compile(rf"{_OPEN}(?={_SPACE}[{_SLASHES}{_BARS}!{_OPENERS}])")
# An opener directly before a name that only tags and roles use, with no closer in reach.
_NAMED_OPEN = re.compile(
    rf"{_OPEN}(?={_SPACE}(?:source|system|user|assistant|human|im_start|im_end|s\b|tool))",
    re.I,
)
_BRACKET_WORDS = re.compile(
    r"\[\s*(/?)\s*(INST|SYS|SYSTEM_PROMPT|TOOL_CALLS|AVAILABLE_TOOLS|TOOL_RESULTS|THINK)\s*\]"
)


def _fold(text: str) -> str:
    """Compatibility-folded, lower-case text of the same length (for matching only)."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        lower = folded.lower()
        out.append(lower if len(lower) == 1 else ch)
    return "".join(out)


def neutralise(text: str) -> str:
    """``text`` made safe to put inside a prompt as data (see the module docstring)."""
    if not text:
        return text
    text = _INVISIBLE.sub("", text)
    for pattern, char in _ENTITIES:
        text = pattern.sub(char, text)
    for _ in range(3):  # nested openers ("<<SYS>>") take one pass each
        text, n = _TAG.subn(lambda m: f"({m.group('body')})", text)
        if not n:
            break
    # Match names on folded text (full-width letters), then cut the same positions.
    folded = _fold(text)
    cuts = {m.start() for m in _NAMED_OPEN.finditer(folded)}
    cuts |= {m.start() for m in _BARE_OPEN.finditer(text)}
    if cuts:
        text = "".join("(" if i in cuts else ch for i, ch in enumerate(text))
    return _BRACKET_WORDS.sub(lambda m: f"({m.group(1)}{m.group(2)})", text)


def one_line(text: str) -> str:
    """Neutralised text on one line: for titles and publisher names, which sit on the
    heading line of a source, where a line break could start a line the prompt never wrote."""
    return " ".join(neutralise(text).split())


# What ``neutralise`` makes of a special token or a fence or role tag.
_NEUTRALISED_TAG = re.compile(
    r"\((?:\s*\|[^()\n]{0,40}\||\s*/?\s*(?:source|system|user|assistant|human|s|tool_call|"
    r"im_start|im_end)\b[^()\n]{0,40})\)",
    re.I,
)


def strip_tags(text: str) -> str:
    """``text`` neutralised and without the special tokens and fence or role tags it held:
    for a question, where such tags ask nothing."""
    return _NEUTRALISED_TAG.sub(" ", neutralise(text)).strip()
