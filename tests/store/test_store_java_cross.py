"""Cross-check with Apache RocketMQ 4.9.4's own store: Java recovers and reads a store rmqlite wrote
(after an rmqlite crash), appends to it, and rmqlite then reads everything back.

Needs ``java`` (11+) and the RocketMQ 4.9.4 jars in ``$RMQLITE_CACHE_DIR/rocketmq-4.9.4/lib``
(default ``~/.cache/rmqlite``, filled by tests/interop/real_rocketmq.py); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from store_helpers import STORE_HOST, crash, msg, small_config

from rmqlite.common.message import decode_records, offset_msg_id
from rmqlite.store import MessageStore

pytestmark = pytest.mark.interop

LIB = Path(os.environ.get("RMQLITE_CACHE_DIR") or Path.home() / ".cache" / "rmqlite") / "rocketmq-4.9.4" / "lib"
JAVA_OPENS = [
    "--add-opens", "java.base/java.nio=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
]


@pytest.mark.skipif(shutil.which("java") is None or not (LIB / "rocketmq-store-4.9.4.jar").exists(),
                    reason="java or RocketMQ 4.9.4 jars not available")
def test_java_store_reads_and_extends_an_rmqlite_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    cfg = small_config(str(root))
    s = MessageStore(cfg)
    s.open(1)
    for i in range(45):
        r = s.put_message(msg(topic="T", queue_id=i % 2, body=b"py-%d" % i, tags="TagA", keys=f"k{i} all",
                              uniq=f"U{i}"), 1_700_000_000_000 + 10 * i)
        assert r.ok
    s.flush()
    crash(s)  # Java must run its abnormal recovery on our files
    java = Path(__file__).parent / "java" / "StoreCrossCheck.java"
    cmd = ["java", *JAVA_OPENS, "-cp", f"{LIB}/*", str(java), str(root), str(cfg.mapped_file_size_commitlog),
           str(cfg.mapped_file_size_consume_queue), str(cfg.max_hash_slot_num), str(cfg.max_index_num),
           "T:0,T:1", "k44", "30", str(tmp_path / "java.out")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = [ln.split(" ") for ln in (tmp_path / "java.out").read_text().splitlines()]
    assert ["queue", "T", "0", "0", "23"] in lines and ["queue", "T", "1", "0", "22"] in lines
    msgs = [ln for ln in lines if ln[0] == "msg"]
    assert len(msgs) == 45
    for _tag, qoff, phys, ts, body_hex, msg_id, _crc, *props in msgs:
        body = bytes.fromhex(body_hex)
        i = int(body[3:])
        assert (int(qoff), int(ts)) == (i // 2, 1_700_000_000_000 + 10 * i)
        assert msg_id == offset_msg_id(*STORE_HOST, int(phys))
        assert " ".join(props) == f"KEYS\\1k{i} all\\2UNIQ_KEY\\1U{i}\\2TAGS\\1TagA"
    # Java's crash recovery re-indexes the record at the index's endPhyOffset (its skip test is "<"),
    # so k44 may come back twice; clients drop duplicates.
    assert lines[-1][0] == "query" and int(lines[-1][1]) in (1, 2), lines[-1]

    s = MessageStore(cfg)  # Java shut down cleanly after appending 30 messages to topic J
    s.open(2)
    assert not s.recovered_abnormally
    assert (s.max_offset("T", 0), s.max_offset("J", 0), s.max_offset("J", 1)) == (23, 15, 15)
    java_msgs = decode_records(b"".join(s.get_messages("J", q, 0, 32).body for q in (0, 1)), check_crc=True)
    assert sorted(m.body for m in java_msgs) == sorted(b"java-%d" % i for i in range(30))
    assert {m.offset_msg_id[:16] for m in java_msgs} == {"C0A8000B00002A9F"}
    assert len(s.query_by_key("J", "jall", 64, 0, 2**62)) == 30 and len(s.query_by_key("T", "all", 64, 0, 2**62)) == 45
    assert s.put_message(msg(topic="J", queue_id=1, body=b"after"), 3).queue_offset == 15
    s.close()
