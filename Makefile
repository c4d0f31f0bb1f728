# The two commands of the README. Everything else lives in scripts/.
.PHONY: run test bench
run:    ## install what is missing, train if needed, start the whole stack
	@scripts/run
test:   ## all tests (what CI runs)
	@scripts/test
bench:  ## chat API load benchmark against a running stack (make run)
	@.venv/bin/python bench/chat_load.py
