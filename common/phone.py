"""Dutch phone numbers: is what a parent typed one we can call back, and where are numbers in a
message (so they can be kept out of the assistant).

Accepted: mobile numbers (06, not the 066 pager or 067 data ranges), geographic landlines
(010 ... 079, without 06) and the personal VoIP and company ranges 085, 087 and 088; written with
0, +31 or 0031, with spaces, dashes, dots, slashes or "(0)". Refused: service numbers (0800,
0900 ...), machine ranges (097), foreign numbers and anything of the wrong length.
Standard library only: both environments may use it.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-./()]")
_NATIONAL = re.compile(r"0(?:6[1-58]\d{7}|[1-57]\d{8}|8[578]\d{7})")
# Candidates in free text: a digit run of 9 or more digits, possibly broken by separators.
_CANDIDATE = re.compile(r"(?:\+|\b00)?\d(?:[\s\-./()]{0,3}\d){8,14}")
MASK = "[telefoonnummer]"


def parse(text: str) -> str | None:
    """The number in national form ("0612345678") if ``text`` is one Dutch number; else None."""
    raw = text.strip()
    if not raw or len(raw) > 40:
        return None
    compact = raw.replace("(0)", "")
    compact = _SEPARATORS.sub("", compact)
    if compact.startswith("+31"):
        compact = "0" + compact[3:]
    elif compact.startswith("0031"):
        compact = "0" + compact[4:]
    elif compact.startswith("+") or compact.startswith("00"):
        return None  # another country
    return compact if _NATIONAL.fullmatch(compact) else None


def for_display(number: str) -> str:
    """How staff read it: "06 1234 5678" for a mobile number, digits in threes otherwise."""
    if number.startswith("06"):
        return f"{number[:2]} {number[2:6]} {number[6:]}"
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def mask(text: str) -> str:
    """The text with every Dutch phone number replaced by ``[telefoonnummer]``."""
    return _CANDIDATE.sub(lambda m: MASK if parse(m.group()) else m.group(), text)
