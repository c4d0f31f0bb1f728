"""Insight: the I&A figures and what staff learn from them (docs/INSIGHT.md). It reads what the
registrar (handoff/registrar.py) counted and shows it; it sits above handoff/ in the layering.

Runs in the messaging service's environment; the assistant only adds registration notes to
its replies (``common.registration``).
"""

from insight.figures import Query, figures
from insight.unclear import UnclearQuestions

__all__ = ["Query", "UnclearQuestions", "figures"]
