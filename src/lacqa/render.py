"""HTML and Markdown rendering for the web chat. Everything taken from a source is escaped: links and
images in sources are never live, HTML in sources is never executed."""

from __future__ import annotations

import html
import re
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


_MARKERS = re.compile(r"\[\d+\]")
_MD_UNESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$|<>~])")


def display(text: str) -> str:
    """Source text as a reader expects it: markdown escapes such as \\$ shown as the character."""
    return _MD_UNESCAPE.sub(r"\1", text)


def md_escape(text: str) -> str:
    """Escape Markdown so that source text shows as typed (no links, images, HTML or emphasis)."""
    text = display(text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("://", ":\u200b//")  # no autolinks


def answer_markdown(a: dict[str, Any]) -> str:
    """The chat message for one answer (a dict from Answer.to_json())."""
    if a.get("error"):
        return f"**Something went wrong:** {md_escape(a['error'])}"
    if a["abstained"]:
        lines = [f"**The sources do not say.** {md_escape(a['reason'] or '')[:1].upper()}{md_escape(a['reason'] or '')[1:]}."]
        if a.get("closest"):
            lines.append("\n*Closest passages found (they do not answer the question):*")
            for c in a["closest"]:
                lines.append(f"- \u201c{md_escape(_short(c['quote'], 160))}\u201d \u2014 *{md_escape(c['title'])}*")
        return "\n".join(lines)
    if a.get("shape", "fact") != "fact" and a.get("points"):
        body = _points_markdown(a["points"])
    else:
        body = _bold_markers(md_escape(a["answer"]))
    label = {"quoted": "Quoted directly from the source",
             "span": "Answer read word for word from the first quote"}.get(a["mode"], "Answer drafted from the quotes and verified")
    cites = " \u00b7 ".join(
        f"**[{c['n']}]** {md_escape(_short(c['title'], 60))}{_page(c)}{_section(c)}" for c in a["citations"]
    )
    notes = "".join(f"\n\n<sub>note: {md_escape(n)}</sub>" for n in a.get("notes", []))
    return (f"{body}\n\n{cites}\n\n<sub>{label} \u00b7 {a['latency_s']:.2f}s \u00b7 from index "
            f"{a['generation']}</sub>{notes}")


def _bold_markers(text: str) -> str:
    return re.sub(r"((?:\\\[\d+\\\])+)", lambda m: "**" + m.group(1).replace("\\", "") + "**", text)


def _points_markdown(points: list[dict[str, Any]]) -> str:
    """An open answer as a bulleted list, each point with its markers; a comparison's sides as bold headings."""
    lines: list[str] = []
    label = None
    for p in points:
        if p.get("label") and p["label"] != label:
            label = p["label"]
            lines.append(f"\n**{md_escape(label[:1].upper() + label[1:])}**\n")
        lines.append(f"- {_bold_markers(md_escape(p['text']))}")
    return "\n".join(lines).strip()


def _page(c: dict[str, Any]) -> str:
    return f", p. {c['page']}" if c.get("page") else ""


def _section(c: dict[str, Any]) -> str:
    """', § Chapter 2' for a quote from a section of a Word file or an EPUB, else nothing."""
    return f", \u00a7 {md_escape(_short(c['section'], 50))}" if c.get("section") else ""


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "\u2026"


def shown_citations(a: dict[str, Any]) -> list[dict[str, Any]]:
    """The passages shown with an answer: its citations, or the closest passages of an abstention."""
    return list(a.get("closest", []) if a.get("abstained") else a.get("citations", []))


def citations_html(a: dict[str, Any] | None, context: dict[int, tuple[str, str]] | None = None) -> str:
    """Cards for the citations of one answer: title, file, page, the quote highlighted in its context."""
    if not a:
        return "<div class='lq-empty'>Ask a question: the quoted passages behind the answer appear here.</div>"
    cites = shown_citations(a)
    if not cites:
        return "<div class='lq-empty'>No passages for this question.</div>"
    head = "Closest passages (not an answer)" if a.get("abstained") else "Sources of this answer"
    cards = [f"<div class='lq-head'>{html.escape(head)}</div>"]

    def card(c: dict[str, Any]) -> str:
        before, after = (context or {}).get(c["n"], ("", ""))
        page = f" \u00b7 page {c['page']}" if c.get("page") else ""
        if c.get("section"):
            page += f" \u00b7 <span class='lq-section'>\u00a7 {html.escape(_short(c['section'], 80))}</span>"
        return (
            f"<div class='lq-card' id='lq-cite-{c['n']}'><div class='lq-title'><span class='lq-n'>[{c['n']}]</span> "
            f"{html.escape(c['title'])}</div><div class='lq-meta'>{html.escape(c['source'])}{page} \u00b7 characters "
            f"{c['start']}\u2013{c['end']}</div><div class='lq-quote'>\u2026{_h(before)}<mark>"
            f"{_h(c['quote'])}</mark>{_h(after)}\u2026</div></div>"
        )

    points = a.get("points") or []
    if a.get("abstained") or a.get("shape", "fact") == "fact" or not points:
        return "\n".join([*cards, *(card(c) for c in cites)])
    # an open answer: each point heads the cards of the quotes it rests on (a quote shared by two points is
    # shown under the first and named under the next)
    by_n = {c["n"]: c for c in cites}
    shown: set[int] = set()
    for i, p in enumerate(points, 1):
        label = f"{html.escape(p['label'])}: " if p.get("label") else ""
        group = [f"<div class='lq-point' id='lq-point-{i}'><div class='lq-point-head'>Point {i} \u00b7 {label}"
                 f"{_h(_short(_MARKERS.sub('', p['text']), 140))}</div>"]
        for n in p.get("citations", []):
            if n in shown:
                group.append(f"<div class='lq-meta'>[{n}] \u2014 shown under an earlier point</div>")
            elif n in by_n:
                group.append(card(by_n[n]))
                shown.add(n)
        cards.append("".join(group) + "</div>")
    rest = [c for c in cites if c["n"] not in shown]
    if rest:
        cards.append("<div class='lq-point'><div class='lq-point-head'>Further sources</div>"
                     + "".join(card(c) for c in rest) + "</div>")
    return "\n".join(cards)


def document_html(title: str, source: str, text: str, start: int, end: int) -> str:
    """The whole cleaned document, escaped, with the cited range highlighted (scrolled to by JS)."""
    start, end = max(0, start), min(len(text), end)
    return (
        f"<div class='lq-doc-title'>{html.escape(title)}</div><div class='lq-meta'>{html.escape(source)} \u00b7 "
        f"highlighted: characters {start}\u2013{end}</div><div class='lq-doc' id='lq-doc'>{_h(text[:start])}"
        f"<mark id='lq-hl'>{_h(text[start:end])}</mark>{_h(text[end:])}</div>"
    )


def _h(text: str) -> str:
    return html.escape(display(text))


def _code(name: str) -> str:
    """A file name in a code span: shown literally, so no markdown escaping (only backticks removed)."""
    return "`" + name.replace("`", "'") + "`"


def status_markdown(s: dict[str, Any]) -> str:
    if not s.get("generation"):
        return ("**No index yet.** Press **Rebuild index** to index the documents in "
                f"{_code(str(s.get('sources_dir', '')))}.")
    stale = ""
    ch = s.get("changes") or {}
    if s.get("stale"):
        parts = [f"{len(v)} {k}" for k, v in ch.items() if v]
        stale = f"\n\n\u26a0\ufe0f **Sources changed since this index was built** ({', '.join(parts)}): rebuild to include them."
    return (
        f"**Index** `{s['generation']}` \u00b7 {s['documents']} documents \u00b7 {s['chunks']} chunks \u00b7 built "
        f"{str(s['built_at']).replace('T', ' ').replace('Z', ' UTC')} \u00b7 embeddings {md_escape(str(s['model']))} ({s['dimension']}d){stale}"
    )


def report_markdown(r: dict[str, Any]) -> str:
    if r.get("error"):
        return f"**Rebuild failed:** {md_escape(r['error'])}\n\nThe previous index keeps serving."
    lines = [f"**Rebuilt in {r['seconds']:.2f}s** \u2192 `{r['generation']}` ({r['documents']} documents, "
             f"{r['chunks']} chunks)" if r.get("published") else
             f"**Nothing changed** \u2014 index `{r['generation']}` is current ({r['seconds']:.2f}s)"]
    for key in ("added", "changed", "removed"):
        if r.get(key):
            lines.append(f"- **{key}**: " + ", ".join(_code(x) for x in r[key]))
    for s in r.get("skipped", []):
        lines.append(f"- **skipped** {_code(s['source'])}: {md_escape(s['reason'])}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the library's own state

_STAGE_WORDS = {"read files": ("reading files", "read {n} files"),
                "embed chunks": ("embedding chunks", "embedded {n} chunks"),
                "embed sentences": ("embedding sentences", "embedded {n} sentences"),
                "write": ("writing the index", "wrote the index")}


def progress_markdown(state: Any, now: float | None = None) -> str:
    """The running build as one line: stages done, the stage running with its count and time left."""
    done = [(_STAGE_WORDS.get(s, (s, f"{s} {{n}}"))[1]).format(n=n) for s, n in state.finished]
    line = ""
    if state.stage:
        word = _STAGE_WORDS.get(state.stage, (state.stage, ""))[0]
        count = f" {state.done}/{state.total}" if state.total > 1 else ""
        eta = state.eta_s(now)
        left = f" \u00b7 about {_duration(eta)} left" if eta is not None else ""
        line = f"**{word}{count}**{left}"
    else:
        line = "**looking at the sources\u2026**"
    steps = "".join(f"\u2713 {d} \u00b7 " for d in done)
    return f"Indexing your library ({state.reason}): {steps}{line}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def empty_markdown(kind: str, sources_dir: str) -> str:
    """The empty state: a missing folder or one with nothing lacqa can read."""
    where = _code(sources_dir)
    head = (f"**Your library is empty.** The sources folder {where} does not exist yet."
            if kind == "missing" else f"**Your library is empty.** The sources folder {where} holds no document lacqa can read.")
    return (f"{head} Add .txt, .md, .html or .pdf files with **Add documents** on the *Library* tab "
            "(or copy them into the folder): lacqa indexes them and answers from them.")


def waiting_markdown(state: Any) -> str:
    """The chat's reply while the first index is being built."""
    return progress_markdown(state) + "\n\nYour question is answered as soon as the index is ready."


def library_document_html(row: Any, text: str) -> str:
    """A whole document of the library view: its title, file facts and cleaned text, escaped."""
    pages = f" \u00b7 {row.pages} pages" if row.pages else ""
    return (
        f"<div class='lq-doc-title'>{html.escape(row.title)}</div><div class='lq-meta'>{html.escape(row.source)} "
        f"\u00b7 {html.escape(row.kind)}{pages} \u00b7 {row.chunks} chunks \u00b7 indexed "
        f"{html.escape(row.indexed_at.replace('T', ' ').replace('Z', ' UTC'))}</div>"
        f"<div class='lq-doc' id='lq-libdoc'>{_h(text)}</div>"
    )
