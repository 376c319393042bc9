"""The delivery engine: the one place Sanad sends messages from (outbox dispatcher and pacing)."""
