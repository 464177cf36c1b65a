"""Backends: the shops and helpdesks cs-console syncs with, behind one small interface."""
