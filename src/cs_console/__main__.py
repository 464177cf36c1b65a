"""Allow ``python -m cs_console``."""

from cs_console.cli import main

raise SystemExit(main())
