"""Redaction of personal data before a transcript is kept after the chat.

Staff see the live text while they help; when the handoff ends (closed, cancelled, answered),
the transcript is rewritten with names, places, phone numbers, e-mail addresses, BSNs, dates
and ages replaced by tags such as ``[PERSOON-1]``. The work is done by ``deduce``, a maintained
Dutch de-identification library; its model loads once per process (a few seconds), in a thread.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

_model: Any = None
_loading = threading.Lock()


def _deduce() -> Any:
    global _model
    with _loading:
        if _model is None:
            import deduce  # heavy: imported only where redaction is used

            _model = deduce.Deduce()
            # Its millions of objects live as long as the process. Left to the garbage
            # collector, each full collection stalled the event loop for seconds and every
            # exit took some 15 s; frozen, the collector skips them.
            gc.freeze()
    return _model


def redact_text(text: str) -> str:
    return str(_deduce().deidentify(text).deidentified_text)


async def redact(texts: list[str]) -> list[str]:
    """Redacted copies, in order, without blocking the event loop."""
    if not texts:
        return []
    return await asyncio.to_thread(lambda: [redact_text(t) for t in texts])


async def preload() -> None:
    """Loads the model at start, so the first closed chat does not wait for it."""
    await asyncio.to_thread(_deduce)
