"""rmqlite.common package."""
