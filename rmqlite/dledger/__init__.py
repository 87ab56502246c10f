"""rmqlite.dledger package."""
