"""Assistant: the one facade the CLI, the web app and the tests use.

It owns the embedder, the retriever and (lazily) the language model, and serves answers from the
generation that was current when each question arrived, switching when a rebuild publishes a new one.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .build import BuildReport, StageFn, build_index, sources_changed
from .config import Settings
from .embed import Embedder, make_embedder
from .errors import IndexMismatchError, IndexMissingError, LacqaError, QuestionError
from .retrieve import Retriever
from .store import Generation, IndexDir, open_current
from .types import Answer, Hit
from .vector_store import VectorStore, make_store

if TYPE_CHECKING:
    from .answer.ranker import Ranker
    from .answer.span import SpanReader
    from .generate import Generator

FOLLOW_UP_TURNS = 2  #: earlier questions a follow-up is read against


def earlier_questions(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ``history`` for ``Assistant.ask``: the user questions among earlier chat messages ({role, content}),
    the last FOLLOW_UP_TURNS of them. The web chat and the OpenAI-compatible API both pass this."""
    asked = [m["content"] for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)]
    return asked[-FOLLOW_UP_TURNS:]


class Assistant:
    """Index, search and answer over one sources folder and one index folder."""

    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        ranker: Ranker | None = None,
        store: VectorStore | None = None,
        span_reader: SpanReader | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.embedder = embedder or make_embedder(
            self.settings.embedder_path, kind=self.settings.embedder_backend, data_dir=self.settings.data_dir)
        if ranker is None and self.settings.answer.ranker != "off":
            from .answer.ranker import OnnxRanker

            ranker = OnnxRanker(self.settings.ranker_path, threads=self.settings.answer.threads)
        self.ranker = ranker  #: orders evidence and decides (None: the hand-weighted score does)
        self.point_ranker: Ranker | None = None  #: orders an open answer's candidates (loaded on its first use)
        if self.settings.answer.open_ranker:
            from .answer.ranker import OnnxRanker

            self.point_ranker = ranker or OnnxRanker(self.settings.ranker_path, threads=self.settings.answer.threads)
        self.span_reader: SpanReader | None = span_reader  #: reads the answer span of a fact's best quote
        if span_reader is None and self.settings.answer.span:
            from .answer.span import OnnxSpanReader

            if OnnxSpanReader.available(self.settings.ranker_path):
                self.span_reader = OnnxSpanReader(self.settings.ranker_path, threads=self.settings.answer.threads)
        self.retriever = Retriever(self.embedder, self.settings.retrieve)
        self._generator = generator
        self._gen_lock = threading.Lock()
        self._model_lock = threading.Lock()  # one language model, however many threads ask for it first
        self._busy = threading.Condition()  # questions being answered now (background work waits for none)
        self._in_flight = 0
        self._generation: Generation | None = None
        self.index_dir = IndexDir(self.settings.index_dir)
        #: where generations are searched and published (LACQA_STORE__BACKEND; default the index folder itself)
        self.store = store or make_store(self.settings)

    # ------------------------------------------------------------------ index

    def index(self, dry_run: bool = False, on_stage: StageFn | None = None, lock_timeout: float = 0.0) -> BuildReport:
        report = build_index(
            self.settings, self.embedder, dry_run=dry_run, on_stage=on_stage, lock_timeout=lock_timeout,
            store=self.store,
        )
        if report.published:
            self.refresh()
        return report

    def generation(self) -> Generation:
        """The serving generation; reopened when the store publishes a newer one (e.g. after a rebuild elsewhere)."""
        name = self.store.current()
        with self._gen_lock:
            if self._generation is None or (name is not None and name != self._generation.name):
                gen = open_current(self.index_dir, self.store)
                built_with = gen.manifest.get("embedder")
                if built_with != self.embedder.model_id:
                    raise IndexMismatchError(
                        f"index {gen.name} was built with the embedder '{built_with}' but '{self.embedder.model_id}' "
                        "is in use: run `lacqa index` to rebuild it"
                    )
                self._generation = gen
            return self._generation

    def refresh(self) -> None:
        with self._gen_lock:
            self._generation = None

    def status(self) -> dict[str, Any]:
        try:
            gen = self.generation()
        except IndexMissingError:
            return {"generation": None, "documents": 0, "chunks": 0, "built_at": None,
                    "model": self.embedder.model_id, "dimension": None, "index_dir": str(self.settings.index_dir),
                    "sources_dir": str(self.settings.sources_dir), "stale": None}
        changes = sources_changed(self.settings, gen)
        return {
            "generation": gen.name,
            "documents": len(gen.documents),
            "chunks": len(gen.chunks),
            "sentences": len(gen.sentences),
            "built_at": gen.built_at,
            "model": gen.manifest.get("embedder"),
            "dimension": gen.manifest.get("dimension"),
            "index_dir": str(self.settings.index_dir),
            "sources_dir": str(self.settings.sources_dir),
            "stale": any(changes.values()),
            "changes": changes,
        }

    # ------------------------------------------------------------------ search

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """Top-k passages; the one holding the best evidence sentence (what `ask` would quote first) leads."""
        from .answer import gather_evidence

        query = self._check_question(query)[0]
        k = k or self.settings.retrieve.k
        hits, selection = gather_evidence(query, self.generation(), self.retriever, self.settings.answer,
                                          max(k, self.settings.answer.passages), reword=True, ranker=self.ranker,
                                          reader=self.span_reader)
        if hits:
            best = selection.evidence
            lead = next((h for h in hits if best and h.chunk.doc_id == best[0].doc_id
                         and h.chunk.start <= best[0].start < h.chunk.end), None)
            if lead is None and best:  # the best sentence came from beyond the retrieved passages (a paraphrase
                # both lists missed, found by its meaning or its terms library-wide): its passage leads
                chunk = next((c for c in self.generation().chunks if c.doc_id == best[0].doc_id
                              and c.start <= best[0].start < c.end), None)
                lead = Hit(chunk, hits[0].score) if chunk is not None else None
            if lead is not None:
                hits = [lead] + [h for h in hits if h is not lead and h.chunk.chunk_id != lead.chunk.chunk_id]
        return hits[:k]

    def _check_question(self, question: str) -> tuple[str, list[str]]:
        if question is None or not str(question).strip():
            raise QuestionError("the question is empty: type a question about your documents")
        q = " ".join(str(question).split())
        notes = []
        limit = self.settings.answer.max_question_chars
        if len(q) > limit:
            q = q[:limit].rsplit(" ", 1)[0]
            notes.append(f"the question was cut to its first {len(q)} characters (limit {limit})")
        return q, notes

    # ------------------------------------------------------------------ answers

    @property
    def generator(self) -> Generator | None:
        """The language model, loaded on first use (None when drafting is switched off); a model server when
        LACQA_LLM__URL is set (then no GGUF is needed here)."""
        with self._model_lock:
            if self._generator is None and self.settings.answer.draft and self.settings.llm.url:
                from .llm_server import ServerGenerator

                self._generator = ServerGenerator.from_settings(self.settings.llm)
            if self._generator is None and self.settings.answer.draft:
                from .generate import load_generator

                a = self.settings.answer
                self._generator = load_generator(self.settings.resolve_model(), n_ctx=a.n_ctx, threads=a.threads)
            return self._generator

    def use_model(self, path: str | None) -> None:
        """Switch to another GGUF (None: the default one); it loads on the next question."""
        from pathlib import Path

        self.settings.model = Path(path) if path else None
        self._generator = None

    def warm(self) -> None:
        """Load the models and what questions read from the index now rather than on the first question."""
        self.warm_models()
        self.warm_index()

    def warm_models(self) -> None:
        """Load the embedder, the rankers and the language model."""
        self.embedder.embed_query("warm up")
        if self.ranker is not None:
            self.ranker.probabilities("warm up", ["warm up"])
        if self.point_ranker is not None and self.point_ranker is not self.ranker:
            self.point_ranker.logits("warm up", ["warm up"])
        if self.span_reader is not None:
            self.span_reader.read("warm up", ["warm up"])
        self.warm_generator()

    def warm_generator(self) -> None:
        """Load the language model (the last thing a question needs, after retrieval and evidence) and read the
        start every prompt shares into its cache."""
        gen = self.generator
        if gen is not None and hasattr(gen, "warm"):
            from .answer import prompt_prefix

            gen.warm(prompt_prefix(gen))

    def warm_index(self) -> None:
        """Open the serving index and load what every question reads from it (BM25, the term tables, the aliases,
        the sentence vectors) by running one search, so that the first question does not pay for them. Nothing
        to do without an index (a first run builds it; its first question loads them)."""
        try:
            self.search("warm up", 1)
        except IndexMissingError:
            return

    def warm_in_background(self, step: Callable[[], None] | None = None, quiet: bool = False) -> threading.Thread:
        """Run a warm-up step (default: ``warm``, everything) on a thread of its own; a question that comes first
        waits on the same locks. Model loading runs in C and lets the caller go on (importing and laying out the web
        app); loading the index is Python and would slow it, so the app runs ``warm_models`` at once and
        ``warm_index`` once its server is up (measured at 440 articles: server up 6.8 s -> 8.3 s otherwise)."""
        step = step or self.warm

        def run() -> None:
            try:
                step()
            except LacqaError as exc:  # no index or no model yet: the app shows that state; the question says why
                if not quiet:  # ``quiet``: the caller meets the same error on its own path, and says it there
                    print(f"warning: {exc}", file=sys.stderr)

        thread = threading.Thread(target=run, name=f"lacqa-{getattr(step, '__name__', 'warm').replace('_', '-')}", daemon=True)
        thread.start()
        return thread

    def ask(
        self, question: str, k: int | None = None, history: list[str] | None = None, draft: bool = True
    ) -> Answer:
        """The verified answer; ``draft=False`` quotes without the language model (e.g. to check an example)."""
        final: Answer | None = None
        for event in self.ask_stream(question, k=k, history=history, draft=draft):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def ask_stream(
        self, question: str, k: int | None = None, history: list[str] | None = None, draft: bool = True
    ) -> Iterator[str | Answer]:
        """Yield draft text pieces as the model writes them, then the verified Answer last."""
        from .answer import answer_stream

        t0 = time.perf_counter()
        q, notes = self._check_question(question)
        gen = self.generation()
        with self._busy:
            self._in_flight += 1
        try:
            yield from answer_stream(
                q, gen, self.retriever, self.settings.answer, self.generator if draft else None, k=k,
                history=history or [], notes=notes, t0=t0, ranker=self.ranker, point_ranker=self.point_ranker,
                span_reader=self.span_reader,
            )
        finally:
            with self._busy:
                self._in_flight -= 1
                self._busy.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no question is being answered (or ``timeout`` seconds): background work such as checking
        example questions gives way to people's questions. True when idle."""
        with self._busy:
            return self._busy.wait_for(lambda: self._in_flight == 0, timeout=timeout)
