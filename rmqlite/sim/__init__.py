"""rmqlite.sim: deterministic simulation of DLedger/Raft groups (seeded network, crashes, fake clock).

``SimRaftGroup`` runs N ``RaftNode``s in one thread over a ``SimNetwork``; ``scenario.run_seed(seed)`` plays a
whole seeded fault schedule with the invariants of ``invariants.py`` checked after every step. See
docs/dledger-raft.md; ``python -m rmqlite.sim --seeds N`` runs many seeds.
"""
