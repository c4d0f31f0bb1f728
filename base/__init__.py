"""The service's ground floor: what bot/, staff/, handoff/ and insight/ all use (the Redis
client factory, JSON errors and bodies, static files and their security headers, the app's
Redis key, the registrar that counts every conversation, redaction of personal data). It
imports nothing of ours but ``common/``, so any service package may import it (see the
README's layering)."""
