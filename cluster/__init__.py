"""The production layout on loopback: several service instances behind nginx, Rasa replicas and
Redis with Sentinel (``make cluster``, the cluster tests, the benchmarks)."""

from cluster.layout import Layout

__all__ = ["Layout"]
