"""How a reply reaches a user: the outbox, its watcher, the reply type, read markers and the
write path that acknowledges a turn (its replies written, then confirmed durable).

Below handoff/ (which writes staff news to the outbox) and bot/ (whose channels only render what
is delivered); it imports only base/ and common/.
"""
