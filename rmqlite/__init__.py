"""rmqlite: Apache RocketMQ's nameserver and broker in pure Python (asyncio).

Unmodified RocketMQ 4.x clients talk to rmqlite as they would to the real thing.
"""

__version__ = "0.1.0"
