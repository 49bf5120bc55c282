"""The library view (documents, skipped files, when each was indexed) and the example questions drawn from it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

from lacqa import examples
from lacqa.embed import HashEmbedder
from lacqa.library import library_view
from lacqa.pipeline import Assistant


def test_library_view_lists_documents_skipped_files_and_index_times(hash_assistant: Assistant) -> None:
    sources = Path(hash_assistant.settings.sources_dir)
    (sources / "tool.exe").write_bytes(b"MZ\x00\x00")
    (sources / "blank.txt").write_text("   \n")
    hash_assistant.index()
    view = library_view(hash_assistant.generation())
    files = sorted(p.name for p in sources.glob("*.txt") if p.name != "blank.txt")
    assert sorted(d.source for d in view.documents) == files
    gen = hash_assistant.generation()
    for d in view.documents:
        assert d.kind == "txt" and d.pages is None and d.indexed_at == gen.built_at
        assert d.chunks == sum(1 for c in gen.chunks if c.doc_id == d.doc_id) > 0
    reasons = {s.source: s.reason for s in view.skipped}
    assert reasons["blank.txt"] == "empty file" and "tool.exe" in reasons
    first = view.documents[0]
    assert view.filtered(first.source.split("_")[0]) == (first,) and view.filtered("") == view.documents

    # a new file: it alone gets the new build's time; the others keep when they were first indexed
    time.sleep(1.1)
    (sources / "new.txt").write_text("A new note\nThe summit was in Lima in 2016.\n")
    hash_assistant.index()
    later = library_view(hash_assistant.generation())
    times = {d.source: d.indexed_at for d in later.documents}
    assert times["new.txt"] == hash_assistant.generation().built_at != gen.built_at
    assert all(times[s] == gen.built_at for s in files)


def test_examples_come_from_the_documents_and_abstentions_are_dropped(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library({
        "lantern.txt": "Harbour Lantern Festival\n\nThe Harbour Lantern Festival is a festival held in Valparaiso. "
                       "The Harbour Lantern Festival was first held in 1987 by the fishermen of the bay.\n",
        "bridge.txt": "Old Town Bridge\n\nThe Old Town Bridge is a stone bridge over the river Mapocho. Engineers "
                      "from Santiago rebuilt the Old Town Bridge in 1921 after the flood.\n",
    }, filler=True)
    gen = assistant.generation()
    cands = examples.candidates(gen)
    assert cands and all(c.question.endswith("?") for c in cands)
    assert "What is the Harbour Lantern Festival?" in [c.question for c in cands]
    names = {d.doc_id: d.title for d in gen.documents.values()}
    for c in cands:  # every question names something its document says
        assert c.doc_id in names

    refused = {cands[0].question}

    def ask(q: str) -> SimpleNamespace:
        return SimpleNamespace(abstained=q in refused, citations=() if q in refused else (1,), reason="no")

    kept, log = examples.check(cands, ask, want=2)
    assert cands[0].question not in kept and log[0].answered is False and 1 <= len(kept) <= 2
    assert len({next(c.doc_id for c in cands if c.question == q) for q in kept}) == len(kept), "one per document"


def test_examples_are_checked_by_lacqa_and_cached_per_generation(small_library) -> None:  # type: ignore[no-untyped-def]
    assistant = small_library({
        "lantern.txt": "Harbour Lantern Festival\n\nThe Harbour Lantern Festival is a festival held in Valparaiso. "
                       "The Harbour Lantern Festival was first held in 1987 by the fishermen of the bay.\n",
    }, filler=True)
    book = examples.ExampleBook(assistant)
    made = book.refresh()
    assert made, "a library that states facts offers at least one example"
    for q in made:
        assert not assistant.ask(q, draft=False).abstained
    gen = assistant.generation()
    cached = json.loads((gen.folder / examples.CACHE_FILE).read_text(encoding="utf-8"))
    assert cached["generation"] == gen.name and cached["examples"] == made
    fresh = examples.ExampleBook(Assistant(assistant.settings, embedder=HashEmbedder()))
    calls = []
    fresh._ask = lambda q: calls.append(q)  # type: ignore[method-assign]  # loaded from the file: nothing asked
    assert fresh.refresh() == made and not calls


def test_a_capitalised_modifier_is_not_taken_for_a_name() -> None:
    """'Latin American countries' qualifies countries: no 'What do the sources say about Latin American?'."""
    from lacqa.examples import _names

    text = ("Latin American countries trade with Chinese firms. Latin America and the Caribbean met in Santiago. "
            "The Treaty of Rome was signed in 1957. In October the forum met.")
    names = set(_names(text))
    assert "Latin American" not in names and "Chinese" not in names and "October" not in names
    assert {"Latin America", "Santiago", "Treaty of Rome"} <= names


def test_example_checks_give_way_to_a_question_being_answered(small_library) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    assistant = small_library({"a.txt": "Alpacas\n\nAlpaca wool from Puno was shipped to Ningbo in 2019.\n"})
    assert assistant.wait_idle(0.01)
    stream = assistant.ask_stream("Where was the alpaca wool shipped?")
    next(stream)  # a question in flight
    assert not assistant.wait_idle(0.05)
    done = threading.Event()
    threading.Thread(target=lambda: (assistant.wait_idle(5.0), done.set()), daemon=True).start()
    time.sleep(0.05)
    assert not done.is_set()
    for _ in stream:
        pass
    assert done.wait(2.0) and assistant.wait_idle(0.01)


def test_example_making_waits_for_the_app_to_serve_and_gives_way_between_documents(small_library) -> None:  # type: ignore[no-untyped-def]
    """Making examples is background work: it starts once the app serves (``ready``), and the candidates' pure
    Python (which holds the interpreter) pauses before each document while a person's question is answered."""
    import threading

    assistant = small_library({
        "lantern.txt": "Harbour Lantern Festival\n\nThe Harbour Lantern Festival is a festival held in Valparaiso. "
                       "The Harbour Lantern Festival was first held in 1987 by the fishermen of the bay.\n",
        "bridge.txt": "Old Town Bridge\n\nThe Old Town Bridge is a stone bridge over the river Mapocho. Engineers "
                      "from Santiago rebuilt the Old Town Bridge in 1921 after the flood.\n",
    }, filler=True)
    gen = assistant.generation()
    pauses: list[int] = []
    assert examples.candidates(gen, pause=lambda: pauses.append(1)) == examples.candidates(gen)
    assert len(pauses) == 2 * len(gen.documents), "once per document in each of the two passes"

    ready = threading.Event()
    book = examples.ExampleBook(assistant, ready=ready)
    made: list[list[str]] = []
    worker = threading.Thread(target=lambda: made.append(book.refresh()), daemon=True)
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and book.get(gen.name) is None, "nothing made before the app serves"
    ready.set()
    worker.join(30)
    assert made and made[0] and book.get(gen.name) == made[0]
