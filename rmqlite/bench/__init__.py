"""Benchmark tooling: the protocol-level load tool (``python -m rmqlite bench``), the floor server and the
side-by-side report. Standard library only, except the optional plot (matplotlib, the ``bench`` extra)."""
