"""Settings: command-line flags override ``LACQA_*`` environment variables, which override defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError
from .onnx_embed import default_data_dir


class ChunkSettings(BaseModel):
    """How documents are cut into retrieval units (chosen by measurement, see bench/README)."""

    size: int = Field(400, ge=100, le=8000, description="target chunk size in characters")
    overlap: int = Field(80, ge=0, le=2000, description="characters shared by neighbouring chunks")
    vectors: Literal["pooled", "embedded"] = Field(
        "pooled", description="a chunk's vector: 'pooled', the mean of its sentences' vectors weighted by the "
        "characters they share (one embedding pass over the library, not two); 'embedded', the chunk embedded "
        "on its own")


class RetrieveSettings(BaseModel):
    """Hybrid retrieval: dense (FAISS) and lexical (BM25) lists fused by weighted RRF."""

    k: int = Field(5, ge=1, le=50, description="hits returned by search")
    candidates: int = Field(40, ge=5, le=500, description="hits taken from each list before fusion")
    rrf_k: int = Field(60, ge=1, description="RRF damping constant")
    dense_weight: float = Field(0.5, ge=0.0)
    lexical_weight: float = Field(1.0, ge=0.0)
    sentence_weight: float = Field(1.0, ge=0.0, description="weight of the best-sentence dense list")
    synonym_weight: float = Field(0.3, ge=0.0, description="weight of the BM25 list with every word's synonyms added (search results; evidence gathering does without)")
    keep_top: int = Field(3, ge=0, le=10, description="the top hits of each list kept among k >= 10 results "
                          "(a passage only one list finds is not lost to fusion)")


class AnswerSettings(BaseModel):
    """Evidence selection, abstention, drafting and their budgets."""

    passages: int = Field(15, ge=1, le=30, description="retrieved chunks scanned for evidence")
    max_quotes: int = Field(3, ge=1, le=3)
    max_quote_chars: int = Field(300, ge=80, le=1000)
    quote_margin: float = Field(0.2, ge=0.0, description="further quotes score within this of the best")
    w_dense: float = Field(0.55, description="weight of question-sentence embedding similarity")
    w_cover: float = Field(0.45, description="weight of IDF-weighted question-term coverage")
    w_type: float = Field(1.0, description="weight of the answer-type bonus (a year for 'when', ...)")
    refit_margin: float = Field(0.05, ge=0.0, description="how far below the best a quote that fits the question's year/kind may be promoted from")
    dense_sentences: int = Field(8, ge=0, le=100, description="nearest sentences library-wide added as candidates")
    lexical_sentences: int = Field(8, ge=0, le=100, description="sentences library-wide covering most of the question's terms (synonyms included) added as candidates")
    max_question_chars: int = Field(500, ge=20)
    min_confidence: float = Field(0.25, description="below this evidence score the assistant abstains (hand-weighted scorer, ranker off)")
    ranker: str = Field("off", pattern="^(learned|fused|rerank|off)$", description="'learned': the shipped "
                        "cross-encoder orders the evidence and decides; 'fused': a logistic regression over its logit "
                        "and the hand score (weights fitted on held-out articles, in ranker.json) does; 'rerank': one "
                        "over the hand score, its logit and the span reader's margin orders the hand score's best "
                        "`rerank_candidates`, and the hand score decides; 'off': the hand score does both")
    rerank_candidates: int = Field(8, ge=1, le=100, description="candidates the 'rerank' order reads per question")
    rank_candidates: int = Field(24, ge=1, le=100, description="candidates the ranker reads per question")
    min_probability: float = Field(0.5, ge=0.0, le=1.0, description="ranker probability of the best quote below "
                                   "which the assistant abstains (chosen on held-out articles, docs/RANKER.md)")
    fused_min_probability: float = Field(0.02, ge=0.0, le=1.0, description="with the fused ranker: its probability "
                                         "of the best quote below which the assistant abstains: the highest that "
                                         "costs no answerable question of the fit sets (docs/RANKER.md)")
    ablate: list[str] = Field(default_factory=list, description="named checks switched off (answer/checks.py), for measuring them")
    shapes: bool = Field(True, description="answer lists, why/how, summaries and comparisons in their own shape")
    open_min_probability: float = Field(0.1, ge=0.0, le=1.0, description="an open answer's points score at least this")
    open_relative_floor: float = Field(0.2, ge=0.0, le=1.0, description="... and at least this share of the best point's probability")
    open_ranker: bool = Field(True, description="the learned ranker orders an open answer's candidates (the hand "
                              "pool and the sentences closest in meaning), even with `ranker` off for facts")
    open_candidates: int = Field(48, ge=1, le=200, description="hand-scored candidates an open answer picks from (the ranker re-scores them)")
    open_section_min_score: float = Field(0.6, ge=0.0, le=3.0, description="a list or how answer is one section of a document when its heading matches the question this well (topic IDF share + cosine)")
    ranked_quote_margin: float = Field(0.3, ge=0.0, description="with the ranker: further quotes within this probability of the best")
    ranked_refit_margin: float = Field(0.1, ge=0.0, description="with the ranker: how far below the best a quote that fits the question's year/kind may be promoted from")
    span: bool = Field(True, description="read the answer span of the best quote (the shipped span reader) and show it "
                       "as the answer text when the model's draft does not hold it")
    span_min_margin: float = Field(0.0, description="the span reader's score of its span less its no-answer score, "
                                   "at least this for the span to be shown (0: the span outscores 'no answer'; chosen on the fit sets sqfit "
                                   "and dev, docs/BENCHMARKS.md)")
    span_abstain_margin: float | None = Field(None, description="a fact question abstains when the span reader finds "
                                              "no answer scoring at least this far above 'no answer' in any quote "
                                              "(the `span_answer` check; None: not read)")
    draft: bool = Field(True, description="let the language model draft a sentence from the quotes")
    max_tokens: int = Field(40, ge=4, le=512)
    n_ctx: int = Field(2048, ge=256)
    deadline_s: float = Field(4.0, gt=0, description="a draft still running after this is cut")
    threads: int = Field(2, ge=1)


class LlmSettings(BaseModel):
    """A model server that drafts instead of the in-process GGUF (any OpenAI-compatible one: llama.cpp, vLLM,
    Ollama, LM Studio). Its drafts are verified like the local model's; while it is down answers are quoted."""

    url: str | None = Field(None, pattern=r"^https?://", description="base URL of the OpenAI API, e.g. "
                            "http://127.0.0.1:8080/v1; unset: the GGUF runs in process")
    model: str | None = Field(None, description="model name sent to the server; default: the first it lists")
    api_key: SecretStr | None = Field(None, description="sent as 'Authorization: Bearer ...'")
    timeout_s: float = Field(30.0, gt=0, description="seconds to wait for the server to connect or send more")
    chat: bool | None = Field(None, description="true: quotes go as a chat turn to /chat/completions; false: the "
                              "few-shot prompt to /completions; unset: chat when the model name says instruct/chat/-it")
    dialect: Literal["openai", "llama.cpp"] = Field("openai", description="'llama.cpp': also send top_k=1, "
                                                    "repeat_penalty=1 and grammars, and count tokens with its tokenizer route")


class StoreSettings(BaseModel):
    """Where candidate search runs. lacqa tokenizes, weighs (BM25) and fuses (RRF) itself, so every backend proposes
    the same candidates; the text, the metadata and the vectors of record stay in the index folder either way."""

    backend: Literal["local", "qdrant"] = Field("local", description="'local': FAISS and bm25s in the index folder; "
                                                "'qdrant': a Qdrant server or cluster (LACQA_STORE__URL)")
    url: str | None = Field(None, pattern=r"^(https?://.+|:memory:)$", description="the Qdrant to use: "
                            "http://host:6333 for a server or cluster, ':memory:' for an in-process store (tests)")
    api_key: SecretStr | None = Field(None, description="Qdrant API key (a cloud cluster or a server with one set)")
    prefix: str = Field("lacqa", pattern=r"^[A-Za-z0-9_-]{1,40}$", description="start of the alias and collection "
                        "names, so that several lacqa installations can share one cluster")
    timeout_s: float = Field(30.0, gt=0, description="seconds to wait for Qdrant to answer a request")


class Settings(BaseSettings):
    """Everything lacqa can be told. Env: LACQA_SOURCES_DIR, LACQA_INDEX_DIR, LACQA_MODEL, ..."""

    model_config = SettingsConfigDict(env_prefix="LACQA_", env_nested_delimiter="__", extra="ignore")

    sources_dir: Path = Path("seeds")
    #: default: index/ for the bundled seeds/, else a folder of the data folder named after the sources folder
    index_dir: Path | None = None  # always a Path once validated (_default_index)
    models_dir: Path = Path("models")
    model: Path | None = None  #: a GGUF file; default: the one GGUF in models_dir
    embedder_path: Path | None = None  #: a sentence-transformers folder; default: the packaged MiniLM
    embedder_backend: str = Field("onnx", pattern="^(onnx|onnx-int8|torch)$", description="'onnx': the embedder runs "
                                  "on ONNX Runtime from a checked export (no torch at query time); 'torch': "
                                  "sentence-transformers (same vectors); 'onnx-int8': quantized, faster, other vectors")
    data_dir: Path = Field(default_factory=default_data_dir, description="per-user folder: the embedder's ONNX export, "
                           "the registered language model (LACQA_DATA_DIR; default ~/.local/share/lacqa)")
    ranker_path: Path | None = None  #: a folder holding ranker.json and its ONNX model; default: the packaged one
    concurrency: int = Field(4, ge=1, le=64, description="questions the app works on at once (the model itself takes one at a time)")
    queue_size: int = Field(1024, ge=1, description="requests that may wait in the app's queue before any is refused")
    host: str = "127.0.0.1"
    port: int = 7860
    #: bearer token the OpenAI-compatible API (/v1) asks for (env LACQA_API_KEY); None: no key, for loopback use
    api_key: SecretStr | None = None
    max_file_mb: float = 20.0  #: files larger than this are skipped at indexing and refused at upload
    keep_generations: int = 3
    auto_rebuild: bool = False  #: the web app rebuilds by itself when the sources change (LACQA_AUTO_REBUILD)
    chunk: ChunkSettings = ChunkSettings()
    retrieve: RetrieveSettings = RetrieveSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LlmSettings = LlmSettings()  #: LACQA_LLM__URL, LACQA_LLM__MODEL, ...: draft on a model server instead
    store: StoreSettings = StoreSettings()  #: LACQA_STORE__BACKEND=qdrant, LACQA_STORE__URL: search on Qdrant

    @model_validator(mode="after")
    def _default_index(self) -> Settings:
        """The bundled library is found from any working directory (this checkout's seeds/ and index/); any other
        library gets its own index folder in the data folder, the same wherever lacqa runs."""
        repo = _checkout()
        if repo is not None and "sources_dir" not in self.model_fields_set and not Path(self.sources_dir).is_dir():
            self.sources_dir = repo / "seeds"
        if self.index_dir is None:
            sources = Path(self.sources_dir)
            if sources == Path("seeds"):
                self.index_dir = Path("index")
            elif repo is not None and sources.resolve() == (repo / "seeds").resolve():
                self.index_dir = repo / "index"
            else:
                self.index_dir = default_index_dir(sources, Path(self.data_dir))
        return self

    @property
    def user_models_dir(self) -> Path:
        """Where `lacqa models --add` registers a GGUF (and `make run` the bundled one) for use from anywhere."""
        return Path(self.data_dir) / "models"

    def resolve_model(self) -> Path:
        """The GGUF to use: ``--model`` / LACQA_MODEL, else the one in ``models_dir`` (./models), else the one
        registered in the data folder."""
        if self.model is not None:
            path = Path(self.model).expanduser()
            if not path.is_file():
                raise ConfigError(f"language model not found: {path} (from --model or LACQA_MODEL)")
            return path
        for folder in (Path(self.models_dir), self.user_models_dir):
            found = [p for p in sorted(folder.glob("*.gguf")) if p.is_file()]  # a dangling registration is skipped
            if found:
                preferred = [p for p in found if p.name == "gemma-3-270m-q4_k_m.gguf"]
                return preferred[0] if preferred else found[0]
        raise ConfigError(
            f"no language model: no .gguf file in {self.models_dir}/ or {self.user_models_dir}/ - run `make run` in "
            "the lacqa folder (it assembles the bundled gemma-3-270m and registers it), pass --model FILE.gguf, "
            "or set LACQA_MODEL"
        )

    def available_models(self) -> list[Path]:
        """Every GGUF lacqa can find: ./models first, then the registered ones (by name, first wins)."""
        seen: dict[str, Path] = {}
        for folder in (Path(self.models_dir), self.user_models_dir):
            for p in sorted(folder.glob("*.gguf")):
                if p.is_file():
                    seen.setdefault(p.name, p)
        return list(seen.values())


def _checkout() -> Path | None:
    """The lacqa checkout this code runs from (an editable install), when there is one."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "seeds").is_dir() else None


def default_index_dir(sources: Path, data_dir: Path) -> Path:
    """``<data>/indexes/<folder name>-<hash of its absolute path>``: one index per library, wherever lacqa runs."""
    import hashlib
    import re

    absolute = sources.expanduser().resolve()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", absolute.name)[:40] or "library"
    return data_dir / "indexes" / f"{slug}-{hashlib.sha256(str(absolute).encode()).hexdigest()[:10]}"
