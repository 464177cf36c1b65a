"""Presentation of the services' results as text: what the command line prints and the
screens show, kept out of ``services/`` so the core computes and never formats.

The CLI and the UI import this package; the services, the store, sync and the backends
never do (an import contract says so).
"""
