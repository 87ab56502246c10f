"""rmqlite.broker package."""
