"""The reference shop backend: ``cs-console serve``. Implements docs/openapi.json."""
