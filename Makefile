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
	luacheck -q lua/ plugins/
	.venv/bin/python -m flake8 kongpy tests
