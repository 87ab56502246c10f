"""rmqlite.sim package."""
