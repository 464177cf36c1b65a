"""The sync engine: pushes the outbox, pulls changes, survives a bad line."""
