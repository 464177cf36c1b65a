"""docs/openapi.json is the protocol as the code defines it."""

from __future__ import annotations

from pathlib import Path

from cs_console.server.openapi import spec_text

DOC = Path(__file__).parent.parent / "docs" / "openapi.json"


def test_committed_spec_matches_the_models() -> None:
    assert DOC.read_text(encoding="utf-8") == spec_text(), (
        'regenerate: python -c "from cs_console.server.openapi import spec_text; '
        "open('docs/openapi.json','w').write(spec_text())\""
    )
