# make lab   -- set up .venv (once) and open the course in JupyterLab
# make test  -- set up .venv (once) and run every test and notebook check
# make lab-zh -- the Chinese edition: lessons/zh/ in JupyterLab with its interface in Chinese
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Machines without internet keep GPT-2's vocabulary and Tiny Shakespeare in
# ../shared beside the checkout; elsewhere both are downloaded on first use.
SHARED := $(abspath ../shared)
ifneq ($(wildcard $(SHARED)/tiktoken-cache),)
export TIKTOKEN_CACHE_DIR ?= $(SHARED)/tiktoken-cache
endif
ifneq ($(wildcard $(SHARED)/data/tinyshakespeare.txt),)
export GPT2COURSE_DATA_DIR ?= $(SHARED)/data
endif

.PHONY: setup lab lab-zh test lint bench clean

setup: $(VENV)/.installed

# Reinstalls only when pyproject.toml changes; an existing .venv is reused. pip compiles
# the installed files to bytecode one at a time (about 12,000 files, 50 s on a laptop
# core); compileall does the same on every core. Files that are not Python 3 (test data
# some packages ship) cannot be compiled by either: their errors are not ours to show.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev]"
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null 2>&1 || true
	touch $@

lab: setup
	$(BIN)/jupyter lab lessons/

# JupyterLab's Chinese interface: the language pack from PyPI, and the language chosen in
# a settings folder of this checkout (JUPYTERLAB_SETTINGS_DIR), not in the user's own.
ZH_SETTINGS := $(CURDIR)/.jupyter-zh/settings
ZH_LOCALE := $(ZH_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings

$(VENV)/.installed-zh: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[zh]"
	touch $@

lab-zh: $(VENV)/.installed-zh
	mkdir -p "$(ZH_SETTINGS)/@jupyterlab/translation-extension"
	test -f "$(ZH_LOCALE)" || echo '{"locale": "zh_CN"}' > "$(ZH_LOCALE)"
	JUPYTERLAB_SETTINGS_DIR="$(ZH_SETTINGS)" GPT2COURSE_LANG=zh $(BIN)/jupyter lab lessons/zh/

lint: setup
	$(BIN)/ruff check gpt2course tests benchmarks conftest.py solutions lessons

# The tests always use the course's own small Shakespeare model (never downloaded
# weights), kept in a cache inside the checkout: the same outputs on every machine.
# Every step runs even when an earlier one fails; .ci/steps prints each step's result
# and time, then fails if any step failed. The notebook steps cover lessons/zh and
# solutions/zh (the Chinese edition) where they exist: pytest collects subfolders.
# nbval-lax skips lesson 07 (both languages): it has no exercises, so `assign --check`
# proves it is solutions/07 without outputs, which nbval runs in full.
# pytest-xdist: one worker per core (at most 4, each holds PyTorch and a model or two).
# Much of the suite waits (subprocesses starting, time limits, a browser), so two workers
# finish sooner even on 2 cores. loadscope keeps a notebook's cells in one kernel, and
# --no-loadscope-reorder the order conftest.py gives (the longest notebooks first). The
# browser tests get a step of their own, in one process, and come last: lesson 07 (nbval
# solutions, first) saves the course model it trains into the cache, where lesson 06
# and the browser's lessons then find it instead of training it again (minutes on a cold
# cache). PARALLEL= runs each step in one process.
PARALLEL ?= -n auto --maxprocesses 4
# Processes side by side (test workers, notebook kernels, a browser), each with PyTorch's
# threads for every core, oversubscribe the CPU, and OpenMP threads that wait for each
# other then spin for a core: a generation test took 290 s instead of 32, two lesson 07
# trainings 4 minutes instead of 1 each. So one PyTorch thread per process when the steps
# run in parallel. (The browser step has one kernel at a time: it keeps PyTorch's default.)
# Stored outputs do not depend on the thread count (a learner's laptop has its own), which
# this also keeps honest.
ONE_THREAD := $(if $(strip $(PARALLEL)),OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
test: export GPT2COURSE_NO_PRETRAINED = 1
test: export GPT2COURSE_CACHE_DIR = $(CURDIR)/.cache/gpt2course
test: setup
	@bash .ci/steps \
	  "ruff" "$(BIN)/ruff check gpt2course tests benchmarks conftest.py solutions lessons" \
	  "pytest tests" "$(ONE_THREAD) $(BIN)/python -m pytest tests -m 'not browser' $(PARALLEL) --durations=15" \
	  "assign --check" "$(BIN)/gpt2course assign --check solutions lessons" \
	  "nbval solutions" "$(ONE_THREAD) $(BIN)/python -m pytest --nbval solutions/ $(PARALLEL) --dist loadscope --no-loadscope-reorder" \
	  "nbval-lax lessons" "$(ONE_THREAD) $(BIN)/python -m pytest --nbval-lax lessons/ --ignore-glob='*/07_training.ipynb' $(PARALLEL) --dist loadscope" \
	  "browser tests" "$(BIN)/python -m pytest tests -m browser --durations=10"

bench: setup
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_tokenizer.py

clean:
	rm -rf $(VENV) .pytest_cache
