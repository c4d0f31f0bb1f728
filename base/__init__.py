"""The service's ground floor: what bot/, handoff/ and insight/ all use (the Redis client
factory, JSON errors and bodies, static files and their security headers). It imports nothing
of ours but ``common/``, so any service package may import it (see the README's layering)."""
