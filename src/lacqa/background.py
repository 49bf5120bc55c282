"""The library builds itself: index builds in a background thread, one at a time, with progress a page can poll.

The web app starts a build at once when it finds a sources folder and no index (or a stale one, with
auto-rebuild on); the rebuild button, uploads and the auto-rebuild timer go through the same Builder, so a
second build waits for the first instead of failing on the index lock. After a build publishes, the
``after`` hook runs in the same thread (the app makes the library's example questions there)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import IndexMismatchError, IndexMissingError, LacqaError, SourceError
from .load import scan_sources

ProgressFn = Callable[..., Any]  # gr.Progress-like: progress(fraction, desc=...)


@dataclass(frozen=True)
class BuildState:
    """A snapshot of the builder, replaced (never mutated) on every change."""

    phase: str = "idle"  #: idle | building | done | failed
    reason: str = ""  #: why the build runs ("no index yet", "sources changed", "rebuild requested", ...)
    stage: str | None = None  #: the stage now running ("read files", "embed chunks", "embed sentences", "write")
    done: int = 0
    total: int = 0
    stage_started: float = 0.0  #: time.monotonic() when the stage began
    finished: tuple[tuple[str, int], ...] = ()  #: stages completed so far in this build, with their counts
    started: float = 0.0
    ended: float = 0.0
    report: dict[str, Any] | None = None  #: the last build's `lacqa index --json` object
    error: str | None = None  #: why the last build failed
    runs: int = 0  #: builds finished since start (lets pollers see that something new happened)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def building(self) -> bool:
        return self.phase == "building"

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds left in the running stage, from its pace so far (None until there is a pace)."""
        if not self.building or not self.total or self.done <= 0 or self.done >= self.total:
            return None
        elapsed = (now or time.monotonic()) - self.stage_started
        if elapsed < 0.2:
            return None
        return (self.total - self.done) * elapsed / self.done


class Builder:
    """Runs `assistant.index` in the foreground or in a thread, one build at a time, recording progress."""

    def __init__(self, assistant: Any, after: Callable[[], None] | None = None, wait_s: float = 600.0) -> None:
        self.assistant = assistant
        self.after = after  #: run after a build that published (and at start when no build was needed)
        self.wait_s = wait_s  #: how long a foreground build waits for a running one
        self._run_lock = threading.Lock()  # one build at a time in this process (the file lock covers others)
        self._state_lock = threading.Lock()
        self._state = BuildState()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> BuildState:
        return self._state

    def _set(self, **changes: Any) -> None:
        with self._state_lock:
            self._state = replace(self._state, **changes)

    # ------------------------------------------------------------------ what the library needs

    def sources_state(self) -> str:
        """'missing' (no such folder), 'empty' (no file lacqa could read) or 'ok'."""
        s = self.assistant.settings
        try:
            scan = scan_sources(s.sources_dir, int(s.max_file_mb * 1e6))
        except SourceError:
            return "missing"
        return "ok" if scan.files else "empty"

    def needed(self, auto: bool) -> str | None:
        """Why a build should run now (None: it should not): no usable index, or stale sources with ``auto``."""
        try:
            self.assistant.generation()
        except (IndexMissingError, IndexMismatchError) as exc:
            if self.sources_state() != "ok":
                return None
            return "no index yet" if isinstance(exc, IndexMissingError) else "the index was built by another embedder"
        except LacqaError:
            return "the index cannot be read" if self.sources_state() == "ok" else None
        if auto and self.assistant.status().get("stale"):
            return "sources changed"
        return None

    # ------------------------------------------------------------------ running builds

    def build(self, reason: str = "rebuild requested", progress: ProgressFn | None = None) -> dict[str, Any]:
        """Build now in this thread (waiting for a running build first); the `lacqa index --json` object or
        {"error": ...}."""
        if not self._run_lock.acquire(timeout=self.wait_s):
            return {"error": f"another build is still running after {self.wait_s:.0f}s; try again when it ends"}
        try:
            report = self._build_locked(reason, progress)
        finally:
            self._run_lock.release()
        if report.get("published") and self.after is not None:
            self._after()
        return report

    def start(self, reason: str) -> bool:
        """Build in a background thread; False (and nothing started) when a build is already running."""
        if not self._run_lock.acquire(blocking=False):
            return False
        self._set(phase="building", reason=reason, stage=None, done=0, total=0, finished=(),
                  started=time.monotonic(), stage_started=time.monotonic(), error=None)

        def run() -> None:
            try:
                report = self._build_locked(reason, None)
            finally:
                self._run_lock.release()
            if report.get("published") and self.after is not None:
                self._after()

        self._thread = threading.Thread(target=run, name="lacqa-build", daemon=True)
        self._thread.start()
        return True

    def start_up(self, auto: bool) -> str | None:
        """At app start: build in the background when needed, else prepare what follows a build (the
        examples) in the background. Returns why a build started, or None."""
        reason = self.needed(auto)
        if reason and self.start(reason):
            return reason
        if self.after is not None and self.sources_state() == "ok":
            threading.Thread(target=self._after, name="lacqa-after", daemon=True).start()
        return None

    def join(self, timeout: float | None = None) -> None:
        """Wait for the background build (tests, shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _build_locked(self, reason: str, progress: ProgressFn | None) -> dict[str, Any]:
        now = time.monotonic()
        self._set(phase="building", reason=reason, stage=None, done=0, total=0, finished=(), started=now,
                  stage_started=now, error=None)

        def on_stage(stage: str, done: int, total: int) -> None:
            st = self._state
            if stage != st.stage:
                finished = st.finished + ((st.stage, st.total),) if st.stage and st.stage != "write" else st.finished
                self._set(stage=stage, done=done, total=total, stage_started=time.monotonic(), finished=finished)
            else:
                self._set(done=done, total=total)
            if progress is not None and total:
                progress(done / total, desc=stage)

        try:
            report = self.assistant.index(on_stage=on_stage, lock_timeout=self.wait_s).to_json()
        except LacqaError as exc:
            self._set(phase="failed", error=str(exc), ended=time.monotonic(), runs=self._state.runs + 1,
                      report=None, stage=None)
            return {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a background thread must not die silently; the page says why
            self._set(phase="failed", error=f"unexpected {type(exc).__name__}: {exc}", ended=time.monotonic(),
                      runs=self._state.runs + 1, report=None, stage=None)
            raise
        self._set(phase="done", report=report, ended=time.monotonic(), runs=self._state.runs + 1, stage=None)
        return report

    def _after(self) -> None:
        try:
            assert self.after is not None
            self.after()
        except LacqaError as exc:  # the examples are a convenience: the app serves without them
            self._set(extra={**self._state.extra, "after_error": str(exc)})
