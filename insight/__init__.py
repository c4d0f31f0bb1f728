"""Registration and insight: the I&A figures, counted by the service itself (docs/INSIGHT.md).

Runs in the messaging service's environment; the assistant only adds registration notes to
its replies (``common.registration``).
"""

from insight.figures import Query, figures
from insight.registrar import Fact, Registrar, outcome
from insight.unclear import UnclearQuestions

__all__ = ["Fact", "Query", "Registrar", "UnclearQuestions", "figures", "outcome"]
