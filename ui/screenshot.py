"""Take the README's screenshot: start the page, ask one question in headless Chromium, save a PNG.

    python -m ui.screenshot --index .byline --out docs/screenshot.png [--llm SPEC] [--fake]

Needs Debian's ``chromium`` and the ``playwright`` package (a dev dependency); it never
downloads a browser. ``--fake`` answers with the scripted test model and the word-overlap
embedder over a fresh index of the demo corpus, so it runs anywhere in seconds.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from pathlib import Path

from ui.app import CORPUS_DIR, build_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "Who gets a right of first refusal on new OpenAI cloud capacity?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=None, help="index folder (default .byline)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--llm", default=None, help="chat model spec (default: configured)")
    parser.add_argument("--fake", action="store_true", help="scripted model, throwaway index")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from rag import Byline

    if args.fake:
        from rag.testing import FakeChatModel, HashEmbeddings

        byline = Byline.open(
            Path(tempfile.mkdtemp(prefix="byline-shot-")) / "index",
            embedder=HashEmbeddings(),
            embed_model="hash",
            chat_model=FakeChatModel(),
        )
    else:
        byline = Byline.open(args.index)
    if not byline.exists():
        print(f"indexing {CORPUS_DIR} into {byline.index_dir}…", file=sys.stderr)
        byline.ingest([CORPUS_DIR])
    page = build_app(byline, llm=args.llm)
    port = _free_port()
    page.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport={"width": 1360, "height": 900})
            tab.goto(f"http://127.0.0.1:{port}/")
            box = tab.locator("#byline-question textarea")
            box.wait_for(timeout=60_000)
            box.fill(args.question)
            box.press("Enter")
            # the sources panel lists what is read while the model writes ("Reading 4
            # passages"); the picture is of the answer, once the panel shows its sources
            tab.wait_for_function(
                """() => {
                    if (document.querySelector('#byline-chat .byline-error')) return true;
                    const head = document.querySelector('#byline-sources h3');
                    return head !== null && !head.innerText.startsWith('Reading');
                }""",
                timeout=args.timeout * 1000,
            )
            tab.wait_for_timeout(800)  # let the last render settle
            args.out.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(args.out))
            browser.close()
    finally:
        page.close()
    print(f"saved {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
