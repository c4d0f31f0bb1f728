# The two commands of the README. Everything else lives in scripts/.
.PHONY: run cluster test bench bench-nginx bench-soak bench-handoff bench-train bench-first-reply bench-acceptance
run:    ## install what is missing, train if needed, start the whole stack
	@scripts/run
cluster:  ## the production layout on loopback (nginx, 2 instances, 2 Rasa, Sentinel) until Ctrl-C
	@PYTHONPATH=. .venv/bin/python -m cluster
test:   ## all tests (what CI runs)
	@scripts/test
bench:  ## chat load: Rasa, /api/chat and the widget at 20 users (starts its own stack)
	@.venv/bin/python bench/chat_load.py
bench-nginx:  ## chat load through nginx: one instance and one Rasa against two of each, as ratios
	@.venv/bin/python bench/chat_load.py --nginx --users 20 --seconds 80 --rounds 2
bench-soak:  ## 10 minutes of parents, youths and staff on the layout while parts restart
	@.venv/bin/python bench/soak.py --minutes 10
bench-handoff:  ## handoff relay latency and claims/s (starts its own Redis and service)
	@.venv/bin/python bench/handoff_relay.py
bench-train:  ## a full training from scratch, per component, with the held-out figures
	@.venv/bin/python bench/train_time.py
bench-first-reply:  ## what a person reads first, for every held-out message (starts its own Rasa)
	@.venv/bin/python bench/first_reply.py
bench-acceptance:  ## the first reply to every acceptance message, per group (starts its own stack)
	@.venv/bin/python bench/acceptance.py
