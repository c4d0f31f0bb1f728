"""Redaction (base/redact.py): names, places, numbers and addresses replaced by tags, with
the model loaded once and kept out of the garbage collector."""

from __future__ import annotations

import gc

from base.redact import redact, redact_text

PERSONAL = (
    "Ik ben Pieter de Vries, mijn zoon Daan zit op De Regenboog in Haarlem. "
    "Bel me op 06-12345678 of mail pieter.devries@gmail.com, bsn 123456782."
)


async def test_names_places_numbers_and_addresses_are_replaced() -> None:
    (clean,) = await redact([PERSONAL])
    for personal in ("Pieter", "Vries", "06-12345678", "pieter.devries@gmail.com", "123456782"):
        assert personal not in clean, personal
    assert "[PERSOON-1]" in clean and "[TELEFOONNUMMER-1]" in clean
    (ordinary,) = await redact(["mijn peuter wil niet slapen"])
    assert ordinary == "mijn peuter wil niet slapen"


def test_the_model_is_kept_out_of_the_garbage_collector() -> None:
    """Scanning its millions of objects stalled the event loop for seconds at every full
    collection, and made the service take some 15 s to exit."""
    redact_text("Jan woont in Haarlem.")
    assert gc.get_freeze_count() > 1_000_000
