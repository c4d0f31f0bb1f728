"""Records a real tracker from a running stack, as Rasa would send it to an action.

Usage (with `make run` up):
    python tests/assistant/record_tracker.py NAME ACTION "message 1" "message 2" ...

Sends the messages to Rasa, fetches the tracker and cuts it just before the last run of ACTION,
so the JSON file is the tracker that ACTION saw. Standard library only.
"""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "actions" / "trackers"
ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    pairs = {}
    for name in ("defaults.env", "var/secrets.env"):
        for line in (ROOT / name).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                pairs[key] = value
    return pairs


def _call(url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


# Rasa runs these inside its two-stage fallback loop: they leave no event of their own.
LOOP_STEPS = {"action_default_ask_affirmation", "action_default_fallback"}


def cut_before(
    tracker: dict[str, Any], action: str, initial_slots: dict[str, Any]
) -> dict[str, Any]:
    events = tracker["events"]
    names = {action, "action_two_stage_fallback"} if action in LOOP_STEPS else {action}
    last = max(i for i, e in enumerate(events) if e["event"] == "action" and e.get("name") in names)
    kept = events[:last]
    slots = {name: initial_slots.get(name) for name in tracker["slots"]}
    for event in kept:
        if event["event"] == "slot":
            slots[event["name"]] = event["value"]
    user_events = [e for e in kept if e["event"] == "user"]
    latest = user_events[-1]
    return {
        "sender_id": "recorded",
        "slots": slots,
        "latest_message": {**latest["parse_data"], "text": latest["text"]},
        "events": kept,
        "paused": False,
        "followup_action": None,
        "active_loop": tracker.get("active_loop") or {},
        "latest_action_name": kept[-1].get("name"),
    }


def main() -> None:
    name, action, *messages = sys.argv[1:]
    env = _env()
    base = f"http://127.0.0.1:{env['RASA_PORT']}"
    sender = f"record-{uuid.uuid4().hex[:8]}"
    for message in messages:
        _call(
            f"{base}/webhooks/cjg/webhook",
            env["RASA_TOKEN"],
            {"sender": sender, "message": message},
        )
    tracker = _call(f"{base}/conversations/{sender}/tracker?token={env['RASA_TOKEN']}", "")
    domain = _call(f"{base}/domain?token={env['RASA_TOKEN']}", "")
    initial = {name: slot.get("initial_value") for name, slot in domain["slots"].items()}
    recorded = cut_before(tracker, action, initial)
    out = HERE / f"{name}.json"
    out.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
