"""Insight: the I&A figures and what staff learn from them (docs/INSIGHT.md). It reads what the
registrar (base/registrar.py) counted and shows it; it sits beside handoff/ in the layering,
and neither imports the other (the logins both check are staff/'s).

Runs in the messaging service's environment; the assistant only adds registration notes to
its replies (``common.registration``).
"""

from insight.figures import Query, figures
from insight.unclear import UnclearQuestions

__all__ = ["Query", "UnclearQuestions", "figures"]
