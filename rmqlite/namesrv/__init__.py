"""rmqlite.namesrv package."""
