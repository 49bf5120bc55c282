"""Many people at once through the app's API: every request waits its turn or runs alongside, none is refused.
(On fakes, so the test measures the queue and the locks, not the models; bench/ records latencies on real ones.)"""

from __future__ import annotations

import socket
import time

from lacqa.embed import HashEmbedder
from lacqa.generate import ScriptedGenerator
from lacqa.pipeline import Assistant

CLIENTS = 50
QUESTIONS = ["When was the First Ministerial Meeting of the China-CELAC Forum held?",
             "Which countries did Chinese President Hu Jintao visit?",
             "What are the main areas of cooperation between China and Latin America?",
             "Which team won the 2014 FIFA World Cup final in football?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fifty_clients_at_once_are_all_answered(hash_assistant: Assistant) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from lacqa.web import launch

    hash_assistant.index()
    assistant = Assistant(hash_assistant.settings, embedder=HashEmbedder(), generator=ScriptedGenerator(default=""))
    assistant.settings.port = _free_port()
    demo = launch(assistant.settings, assistant=assistant, block=False)
    try:
        client = Client(f"http://127.0.0.1:{assistant.settings.port}/", verbose=False)

        def ask(i: int) -> tuple[dict, float]:
            t = time.perf_counter()
            out = client.predict(QUESTIONS[i % len(QUESTIONS)], None, api_name="/ask")
            return out, time.perf_counter() - t

        with ThreadPoolExecutor(CLIENTS) as pool:  # 2 requests per client, all at once: more than the old queue of 32
            results = list(pool.map(ask, range(2 * CLIENTS)))
        answers = [a for a, _ in results]
        assert len(answers) == 2 * CLIENTS
        assert all("error" not in a for a in answers), [a for a in answers if "error" in a][:2]
        assert all(a["abstained"] or a["citations"] for a in answers)
        latencies = sorted(t for _, t in results)
        print(f"\n{2 * CLIENTS} requests from {CLIENTS} clients: p50 {latencies[len(latencies) // 2]:.2f}s "
              f"p95 {latencies[int(0.95 * len(latencies))]:.2f}s")
    finally:
        demo.close()


def test_warming_loads_the_index_so_the_first_question_does_not(hash_assistant: Assistant) -> None:
    hash_assistant.settings.answer.open_ranker = False
    fresh = Assistant(hash_assistant.settings, embedder=HashEmbedder())
    fresh.warm()  # no index yet: nothing to load, and no error
    assert fresh._generation is None
    hash_assistant.index()
    started = Assistant(hash_assistant.settings, embedder=HashEmbedder())
    started.warm()
    gen = started._generation
    assert gen is not None and {"term_stats", "aliases"} <= set(gen.derived)
