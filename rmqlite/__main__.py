"""``python -m rmqlite`` entry point."""

from rmqlite.cli import main

raise SystemExit(main())
