"""Taking answers away: one answer as Markdown with its numbered quotes and sources, a whole conversation as
Markdown or JSON (the `lacqa ask --json` objects, in order). Source text is copied as it is stored: these
are files for the user, not HTML for the page."""

from __future__ import annotations

import json
from typing import Any


def answer_markdown(a: dict[str, Any]) -> str:
    """One answer (an Answer.to_json() dict) as Markdown: the question, the answer (its points as bullets),
    then every citation as a numbered quote with its title, file, page and character range."""
    lines = [f"**Q:** {a.get('question', '').strip()}", ""]
    if a.get("error") or a.get("notice"):
        return "\n".join([*lines, f"*No answer:* {a.get('error') or a['notice']}"])
    if a.get("abstained"):
        lines.append(f"*The sources do not say:* {a.get('reason') or ''}")
    elif a.get("shape", "fact") != "fact" and a.get("points"):
        label = None
        for p in a["points"]:
            if p.get("label") and p["label"] != label:
                label = p["label"]
                lines += ["", f"**{label[:1].upper()}{label[1:]}**", ""]
            lines.append(f"- {p['text']}")
    else:
        lines.append(str(a.get("answer", "")))
    cites = a.get("closest", []) if a.get("abstained") else a.get("citations", [])
    if cites:
        lines += ["", "Closest passages (they do not answer it):" if a.get("abstained") else "Sources:", ""]
        for c in cites:
            page = f", p. {c['page']}" if c.get("page") else ""
            quote = " ".join(str(c["quote"]).split())
            lines.append(f"[{c['n']}] \u201c{quote}\u201d \u2014 {c['title']} ({c['source']}{page}, characters "
                         f"{c['start']}\u2013{c['end']})")
    if a.get("generation"):
        lines += ["", f"*lacqa, index {a['generation']}*"]
    return "\n".join(lines)


def conversation_markdown(answers: list[dict[str, Any]]) -> str:
    """Every turn of a conversation, in order, separated by rules."""
    body = "\n\n---\n\n".join(answer_markdown(a) for a in answers)
    return f"# lacqa conversation\n\n{body}\n" if answers else "# lacqa conversation\n\n(no questions yet)\n"


def conversation_json(answers: list[dict[str, Any]]) -> str:
    return json.dumps({"turns": answers}, ensure_ascii=False, indent=2)
