.PHONY: run test stop lint bench

# Install everything and start the gateway on the embedded default (SQLite).
run:
	scripts/run.sh

# Install everything (test servers included) and run the whole test suite.
test:
	scripts/test.sh

stop:
	.venv/bin/kongpy stop

lint:
	luacheck -q lua/
	.venv/bin/python -m flake8 kongpy tests

# Benchmarks, as ratios to bare nginx in the same run; results in bench/results/.
#   make bench                       full mode (the committed figures)
#   make bench ARGS="--quick"        a few seconds per run (what CI runs)
bench:
	scripts/setup.sh --dev
	.venv/bin/python -m bench "$(ARGS)"
