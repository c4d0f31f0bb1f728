# The two commands of the README. Everything else lives in scripts/.
.PHONY: run test bench bench-handoff
run:    ## install what is missing, train if needed, start the whole stack
	@scripts/run
test:   ## all tests (what CI runs)
	@scripts/test
bench:  ## chat API load benchmark against a running stack (make run)
	@.venv/bin/python bench/chat_load.py
bench-handoff:  ## handoff relay latency and claims/s (starts its own Redis and service)
	@.venv/bin/python bench/handoff_relay.py
