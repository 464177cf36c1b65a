"""The local SQLite store: every write lands here first; the network is an outbox."""
