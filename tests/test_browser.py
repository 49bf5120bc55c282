"""End-to-end test of the web chat in a real headless Chromium (Debian's /usr/bin/chromium, no browser
download), plus checks that the running app never serves local files through Gradio's file routes.

One real app is started for the whole module: a fresh index over a tmp copy of seeds/, the packaged
MiniLM embedder and the bundled GGUF. Screenshots go to tests/screenshots/ (git-ignored); answer.png is
copied to docs/screenshot.png for the README when LACQA_UPDATE_SCREENSHOT is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import copy_seeds

try:
    from playwright.sync_api import Page, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "models" / "gemma-3-270m-q4_k_m.gguf"
SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

QUESTION = "When was the first ministerial meeting of the China-CELAC Forum held?"
UNANSWERABLE = "Who won the 2014 FIFA World Cup?"
EXAMPLE = "How much did China-LAC trade reach in 2021?"
NEW_DOC = "browser_test_note.txt"  # an underscore, like the seed file names
NEW_DOC_TEXT = (
    "Harbour Lantern Festival\n\n"
    "The Harbour Lantern Festival of Valparaiso was first held in 1987. Every March, volunteers float paper "
    "lanterns across the bay to mark the end of the fishing season.\n"
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

needs_browser = pytest.mark.skipif(
    sync_playwright is None or CHROMIUM is None,
    reason=("the Python 'playwright' package is not importable" if sync_playwright is None else
            "no 'chromium' executable on PATH (Debian: apt-get install chromium)"),
)

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@dataclass
class App:
    url: str
    settings: Any
    sources: Path
    demo: Any


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The real app (real index, embedder and GGUF) served on a free port, once for the module."""
    if not MODEL.is_file():
        pytest.skip(f"language model missing: {MODEL} (run `make model`)")
    from lacqa.config import Settings
    from lacqa.pipeline import Assistant
    from lacqa.web import launch

    root = tmp_path_factory.mktemp("web")
    sources = copy_seeds(root / "sources")
    settings = Settings(sources_dir=sources, index_dir=root / "index", models_dir=MODEL.parent, model=MODEL)
    Assistant(settings).index()
    settings.host = "127.0.0.1"
    settings.port = _free_port()
    demo = launch(settings, block=False)
    try:
        yield App(f"http://127.0.0.1:{settings.port}/", settings, sources, demo)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def problems() -> list[str]:
    """Uncaught JS exceptions, console errors and requests to other hosts seen by a page (filled by _open)."""
    return []


@pytest.fixture
def glitches() -> list[str]:
    """Visible defects (raw Markdown, escapes, sideways overflow): collected so that the whole flow still
    runs and every screenshot is taken, then reported together at the end of the test."""
    return []


def _check_rendered(text: str, where: str, glitches: list[str]) -> None:
    """Markdown that leaked into what the user reads: doubled bold markers, backslash escapes."""
    for bad in ("**", "\\"):
        if bad in text:
            i = text.index(bad)
            glitches.append(f"{where} shows {bad!r}: ...{text[max(0, i - 50):i + 50]!r}...")


def _check_width(page: Page, where: str, glitches: list[str]) -> None:
    over = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    if over > 1:
        glitches.append(f"{where}: the page is {over}px wider than the {page.viewport_size['width']}px window "
                        "(it scrolls sideways)")


def _open(browser: Any, app: App, viewport: dict[str, int], problems: list[str]) -> Page:
    page = browser.new_page(viewport=viewport)
    page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("request", lambda r: problems.append(f"external request: {r.url}") if _external(r.url) else None)
    page.goto(app.url, wait_until="domcontentloaded")
    page.wait_for_selector("#lq-question textarea", timeout=30_000)
    return page


def _external(url: str) -> bool:
    """An offline app must not make the browser fetch anything from another host (fonts, CDNs, analytics)."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in ("127.0.0.1", "localhost")


def _ask(page: Page, question: str) -> None:
    """Ask, and wait until the chat shows the question (so that a wait for the answer cannot read the last one)."""
    users = page.locator('#lq-chat [data-testid="user"]')
    before = users.count()
    box = page.locator("#lq-question textarea")
    box.click()
    box.fill(question)
    page.locator("#lq-ask").click()
    page.wait_for_function("(n) => document.querySelectorAll('#lq-chat [data-testid=\"user\"]').length > n",
                           arg=before, timeout=30_000)


def _wait_last_bot(page: Page, *needles: str, timeout: float = 60_000) -> str:
    """Wait until the last assistant message is final and contains every needle; return its text."""
    js = """(needles) => {
        const bots = document.querySelectorAll('#lq-chat [data-testid="bot"]');
        if (!bots.length) return false;
        const users = document.querySelectorAll('#lq-chat [data-testid="user"]');
        // the answer to the last question, not the one before it still on screen while the new one is worked on
        if (users.length && !(users[users.length - 1].compareDocumentPosition(bots[bots.length - 1])
                              & Node.DOCUMENT_POSITION_FOLLOWING)) return false;
        const t = bots[bots.length - 1].innerText;
        return !t.includes('drafting from the quotes') && !t.includes('searching the sources')
               && needles.every(n => t.includes(n));
    }"""
    try:
        page.wait_for_function(js, arg=list(needles), timeout=timeout)
    except PlaywrightTimeout:
        bots = page.locator('#lq-chat [data-testid="bot"]')
        last = bots.last.inner_text() if bots.count() else "<no assistant message>"
        raise AssertionError(f"the chat never showed {needles!r}; last assistant message: {last!r}") from None
    return page.locator('#lq-chat [data-testid="bot"]').last.inner_text()


def _wait_scrolled_to_quote(page: Page) -> None:
    """SCROLL_JS brings the highlight into view inside the scrolling document box."""
    js = """() => { const m = document.getElementById('lq-hl'), d = document.getElementById('lq-doc');
                    if (!m || !d) return false;
                    const a = m.getBoundingClientRect(), b = d.getBoundingClientRect();
                    return a.top >= b.top - 1 && a.top < b.bottom; }"""
    try:
        page.wait_for_function(js, timeout=5_000)
    except PlaywrightTimeout:
        raise AssertionError("the document viewer did not scroll to the highlighted quote") from None


def _shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _report_text(page: Page) -> str:
    return page.locator("#lq-report").inner_text()


def _wait_report(page: Page, *needles: str, timeout: float = 60_000) -> str:
    js = """(needles) => {
        const r = document.querySelector('#lq-report');
        return !!r && needles.every(n => r.innerText.includes(n));
    }"""
    try:
        page.wait_for_function(js, arg=list(needles), timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"the rebuild report never showed {needles!r}; it shows {_report_text(page)!r}") from None
    return _report_text(page)


# ----------------------------------------------------------------------------- browser


@needs_browser
def test_answer_citation_viewer_and_rebuild(
    app: App, browser: Any, problems: list[str], glitches: list[str]
) -> None:
    page = _open(browser, app, LAPTOP, problems)
    try:
        # Ask: the streamed draft is replaced by the verified answer with [n] markers.
        _ask(page, QUESTION)
        answer = _wait_last_bot(page, "[1]", "2015")
        _check_rendered(answer, "the answer", glitches)

        # Source cards: the quote is highlighted in its context.
        page.wait_for_selector("#lq-citations .lq-card mark", timeout=10_000)
        first_card = page.locator("#lq-citations .lq-card").first
        assert first_card.locator(".lq-n").inner_text() == "[1]"
        card_quote = first_card.locator("mark").text_content() or ""
        assert len(card_quote.strip()) > 20

        # Open citation [1] in the document viewer: the same quote is highlighted there and scrolled to.
        option = page.locator("#lq-pick label").first
        assert option.inner_text().startswith("[1]")
        option.click()
        hl = page.locator("#lq-viewer mark#lq-hl")
        hl.wait_for(state="visible", timeout=20_000)
        assert (hl.text_content() or "") == card_quote
        assert page.locator("#lq-viewer .lq-doc-title").inner_text().strip()
        _wait_scrolled_to_quote(page)
        _check_rendered(page.locator("#lq-citations").inner_text(), "the source cards", glitches)
        _check_width(page, "laptop, document open", glitches)
        answer_png = _shot(page, "answer.png")
        if os.environ.get("LACQA_UPDATE_SCREENSHOT"):  # refresh the README's picture only when asked
            shutil.copyfile(answer_png, REPO / "docs" / "screenshot.png")

        # Library tab: a rebuild with no source change publishes nothing.
        page.get_by_role("tab", name="Library").click()
        rebuild = page.locator("#lq-rebuild")
        rebuild.wait_for(state="visible", timeout=5_000)
        rebuild.click()
        _wait_report(page, "Nothing changed")

        # A new file on disk: the next rebuild lists it under "added" and the status counts it.
        (app.sources / NEW_DOC).write_text(NEW_DOC_TEXT, encoding="utf-8")
        rebuild.click()
        _wait_report(page, "Rebuilt in")
        added = page.locator("#lq-report li", has_text="added")
        assert added.count() == 1, _report_text(page)
        listed = added.inner_text()
        assert NEW_DOC in listed.replace("\\", ""), f"{NEW_DOC} not listed under added: {listed!r}"
        _check_rendered(_report_text(page), "the rebuild report", glitches)
        page.wait_for_function("() => document.querySelector('#lq-status').innerText.includes('6 documents')",
                               timeout=10_000)
        _shot(page, "rebuild.png")

        # The new document answers questions at once.
        page.get_by_role("tab", name="Chat").click()
        _ask(page, "When was the Harbour Lantern Festival of Valparaiso first held?")
        _wait_last_bot(page, "1987", "[1]")
        assert "Harbour Lantern Festival" in page.locator("#lq-citations").inner_text()

        # A question whose source quotes dollar amounts (shown as typed, without markdown escapes).
        _ask(page, EXAMPLE)
        _wait_last_bot(page, "449", "[1]")
        page.wait_for_function("() => document.querySelector('#lq-citations').innerText.includes('449')",
                               timeout=10_000)
        _check_rendered(page.locator("#lq-citations").inner_text(), "the source cards of the trade example",
                        glitches)
    finally:
        page.close()
    assert not [p for p in problems if p.startswith(("uncaught", "external"))], problems
    assert not glitches, "visible defects in the web chat:\n" + "\n".join(glitches)


@needs_browser
def test_unanswerable_question_on_a_phone(
    app: App, browser: Any, problems: list[str], glitches: list[str]
) -> None:
    page = _open(browser, app, PHONE, problems)
    try:
        _ask(page, UNANSWERABLE)
        text = _wait_last_bot(page, "The sources do not say", timeout=30_000)
        _check_rendered(text, "the abstention", glitches)
        # A real answer on the small screen too, with a source opened, for the phone screenshot.
        _ask(page, QUESTION)
        _wait_last_bot(page, "[1]", "2015")
        page.locator("#lq-pick label").first.click()
        page.locator("#lq-viewer mark#lq-hl").wait_for(state="visible", timeout=20_000)
        _wait_scrolled_to_quote(page)
        _check_width(page, "phone, document open", glitches)  # nothing may stick out sideways on a phone
        _shot(page, "phone.png")
    finally:
        page.close()
    assert not [p for p in problems if p.startswith(("uncaught", "external"))], problems
    assert not glitches, "visible defects in the web chat:\n" + "\n".join(glitches)


# ----------------------------------------------------------------------------- file routes


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - local test server
            return r.status, r.read(200_000)
    except urllib.error.HTTPError as e:
        return e.code, e.read(200_000)


def test_file_routes_do_not_serve_local_files(app: App) -> None:
    seed = sorted(app.sources.glob("*.txt"))[0].resolve()
    repo_seed = sorted((REPO / "seeds").glob("*.txt"))[0].resolve()
    current = (Path(app.settings.index_dir) / "CURRENT").resolve()
    generation = current.read_text(encoding="utf-8").strip()
    manifest = next((Path(app.settings.index_dir) / "generations" / generation).glob("*.json"), None)
    base = app.url.rstrip("/")
    passwd = b"root:"
    cases: list[tuple[str, bytes]] = [
        ("/gradio_api/file=/etc/passwd", passwd),
        ("/file=/etc/passwd", passwd),
        ("/gradio_api/file=/../../../../etc/passwd", passwd),
        ("/gradio_api/file=%2Fetc%2Fpasswd", passwd),
        (f"/gradio_api/file={seed}", seed.read_bytes()[:60]),
        (f"/file={seed}", seed.read_bytes()[:60]),
        (f"/gradio_api/file={repo_seed}", repo_seed.read_bytes()[:60]),
        (f"/gradio_api/file={repo_seed.relative_to(REPO)}", repo_seed.read_bytes()[:60]),  # relative to cwd
        (f"/gradio_api/file={current}", generation.encode()),
        (f"/gradio_api/file={MODEL}", b"GGUF"),
    ]
    if manifest is not None:
        cases.append((f"/gradio_api/file={manifest.resolve()}", manifest.read_bytes()[:40]))
    leaks = []
    for route, secret in cases:
        status, body = _get(base + urllib.parse.quote(route, safe="/=%:"))
        if status not in (400, 403, 404, 405) and secret in body:
            leaks.append(f"{route} -> HTTP {status}, {len(body)} bytes including the file's content")
    assert not leaks, "\n".join(leaks)
