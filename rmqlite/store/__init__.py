"""rmqlite.store package."""
