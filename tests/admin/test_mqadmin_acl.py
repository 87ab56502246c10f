"""The REAL mqadmin 4.9.4 ACL commands against an ACL broker (aclEnable=true, ROCKETMQ_HOME/conf/plain_acl.yml):
updateAclConfig, getAccessConfigSubCommand (getAclConfig), clusterAclConfigVersion, updateGlobalWhiteAddr,
deleteAccessConfig (deleteAclConfig), signed with the admin account of mqadmin's own $ROCKETMQ_HOME/conf/tools.yml.

Proves: the commands succeed (or fail like Java's), the file is rewritten as Java rewrites it, a created account
can send at once and a deleted one is refused at once, new global white addresses apply on the file reload.
RMQLITE_FEATURES_TARGET=real runs the same scenario against the real RocketMQ 4.9.4 (the differential baseline);
RMQLITE_ACL_ADMIN_DUMP=<dir> saves every output and file state there for a by-hand comparison.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import time
from pathlib import Path

import pytest
from mqadmin import BEGIN, END, _command_line, _split, ensure_tools_home, skip_reason

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "features"))
from feat_cluster import ACL_YML, Cluster, start_cluster  # noqa: E402

from rmqlite.broker.acl import sign, signed_content  # noqa: E402
from rmqlite.broker.acl_yaml import parse_yaml  # noqa: E402
from rmqlite.common.message import encode_properties  # noqa: E402
from rmqlite.remoting.codes import RequestCode, ResponseCode  # noqa: E402
from rmqlite.remoting.command import RemotingCommand  # noqa: E402
from rmqlite.remoting.transport import RemotingClient  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

_REASON = skip_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

ADMIN = ("rmqlite_admin", "admin-secret-1")
NEW = ("acl_new_user", "acl-new-secret")
EXC = "org.apache.rocketmq.acl.common.AclException: "
_ = (BEGIN, END)


async def run_as_admin(commands: list[list[str]], work: Path) -> list[str]:
    """mqadmin with its own ROCKETMQ_HOME holding conf/tools.yml (the admin account)."""
    tools = ensure_tools_home()
    home = work / "mqadmin-home"
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "logback_tools.xml").write_text((tools / "conf" / "logback_tools.xml").read_text())
    (home / "conf" / "tools.yml").write_text(f"accessKey: {ADMIN[0]}\nsecretKey: {ADMIN[1]}\n")
    argv, env = _command_line(tools, work)
    env["ROCKETMQ_HOME"] = str(home)
    stdin = "".join("\t".join(c) + "\n" for c in commands).encode("utf-8")
    proc = await asyncio.create_subprocess_exec(*argv, cwd=work, env=env, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _err = await asyncio.wait_for(proc.communicate(stdin), 180)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return _split(out.decode("utf-8", "replace"), len(commands))


def signed(code: int, ext: dict[str, str], body: bytes | None, who: tuple[str, str] | None) -> RemotingCommand:
    fields = dict(ext)
    if who is not None:
        fields["AccessKey"] = who[0]
        fields["Signature"] = sign(signed_content(fields, body), who[1])
    return RemotingCommand.request(code, fields, body)


def send_ext(topic: str) -> dict[str, str]:
    props = encode_properties({"UNIQ_KEY": f"U{random.randrange(10**12)}", "WAIT": "true"})
    return {"a": "PG_acl_admin", "b": topic, "c": "TBW102", "d": "4", "e": "0", "f": "0",
            "g": str(int(time.time() * 1000)), "h": "0", "i": props, "j": "0", "k": "false", "m": "false"}


@pytest.fixture
def cluster(tmp_path: Path):
    c = start_cluster(tmp_path / "c", "single", {"aclEnable": "true"}, acl_yml=ACL_YML)
    yield c
    c.stop()


def _dump(name: str, text: str) -> None:
    where = os.environ.get("RMQLITE_ACL_ADMIN_DUMP")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / name).write_text(text)


async def _scenario(cluster: Cluster, work: Path) -> None:
    assert cluster.home is not None
    broker = f"127.0.0.1:{cluster.confs[0]['listenPort']}"
    acl_file = cluster.home / "conf" / "plain_acl.yml"
    b = ["-b", broker]
    phase1 = [
        ["updateAclConfig", *b, "-a", NEW[0], "-s", NEW[1], "-i", "PUB", "-u", "SUB", "-t", "AclT1=PUB,AclT2=SUB",
         "-g", "AclG1=SUB", "-w", "10.9.8.7", "-m", "false"],
        ["updateAclConfig", *b, "-a", "short"],                                       # no -s, short key: refused
        ["updateAclConfig", *b, "-a", "acl_bad_perm", "-s", "bad-perm-secret", "-t", "AclT1=ALL"],
        ["getAccessConfigSubCommand", *b],
        ["clusterAclConfigVersion", *b],
        ["updateGlobalWhiteAddr", *b, "-g", "10.10.103.*,192.168.0.*", "-p", str(acl_file)],
        ["updateGlobalWhiteAddr", *b, "-g", "10.10.104.*"],                           # no -p: the default file
        ["deleteAccessConfig", *b, "-a", "acl_nobody_here"],
    ]
    out = await run_as_admin(phase1, work / "p1")
    for i, text in enumerate(out):
        _dump(f"p1-{i}-{phase1[i][0]}.txt", text)
    _dump("file-after-p1.yml", acl_file.read_text())
    assert out[0].startswith(f"create or update plain access config to {broker} success.\n"), out[0]
    assert "org.apache.rocketmq.common.PlainAccessConfig@" in out[0]
    assert "UpdateAccessConfigSubCommand command failed" in out[1]
    assert "CODE: 209" in out[1] and "The accessKey=short and secretKey=null cannot be null" in out[1], out[1]
    assert "CODE: 209" in out[2] and "Parse resource permission error for AclT1=ALL." in out[2], out[2]
    lines = out[3].splitlines()
    assert lines[1] == "globalWhiteRemoteAddresses: []", out[3]
    assert f"  accessKey         : {NEW[0]}" in lines and "  topicPerms        : [AclT1=PUB, AclT2=SUB]" in lines
    assert "  whiteRemoteAddress: 10.9.8.7" in lines and "  admin             : false" in lines
    assert "  whiteRemoteAddress: " in lines                        # the admin account has none: printed empty
    rows = out[4].splitlines()
    assert re.fullmatch(rf"DefaultCluster\s+broker-a\s+{re.escape(broker)}\s+\S*plain_acl\.yml\s+1\s+"
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*", rows[0]), out[4]
    assert rows[1] == "get broker's plain access config version success."
    assert out[5].strip() == f"update global white remote addresses to {broker} success."
    assert out[6].strip() == f"update global white remote addresses to {broker} success."
    assert "CODE: 210" in out[7] and "The accesskey[acl_nobody_here] corresponding to accessConfig has been " \
        "deleted failed." in out[7], out[7]
    data = parse_yaml(acl_file.read_text())
    assert data["globalWhiteRemoteAddresses"] == ["10.10.104.*"]
    assert data["accounts"][-1] == {"accessKey": NEW[0], "secretKey": NEW[1], "whiteRemoteAddress": "10.9.8.7",
                                    "admin": False, "defaultTopicPerm": "PUB", "defaultGroupPerm": "SUB",
                                    "topicPerms": ["AclT1=PUB", "AclT2=SUB"], "groupPerms": ["AclG1=SUB"]}
    assert data["dataVersion"][0]["counter"] == 3
    rc = RemotingClient()
    try:
        topic = f"AclAdm{random.randrange(10**6)}"
        r = await rc.invoke(broker, signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"new-user", NEW))
        assert r.code == ResponseCode.SUCCESS, r.remark                 # the new account works at once
        phase2 = [["deleteAccessConfig", *b, "-a", NEW[0]], ["getAccessConfigSubCommand", *b],
                  ["updateGlobalWhiteAddr", *b, "-g", "127.0.0.1", "-p", str(acl_file)],
                  ["clusterAclConfigVersion", *b]]
        out = await run_as_admin(phase2, work / "p2")
        for i, text in enumerate(out):
            _dump(f"p2-{i}-{phase2[i][0]}.txt", text)
        _dump("file-after-p2.yml", acl_file.read_text())
        assert out[0].startswith(f"delete plain access config account from {broker} success.\n"
                                 f"account's accesskey is:{NEW[0]}"), out[0]
        assert NEW[0] not in out[1] and "globalWhiteRemoteAddresses: [10.10.104.*]" in out[1]
        assert re.search(r"plain_acl\.yml\s+5\s", out[3]), out[3]
        r = await rc.invoke(broker, signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"deleted", NEW))
        assert (r.code, r.remark.split(",")[0]) == (1, EXC + f"No acl config for {NEW[0]}")
        deadline = time.monotonic() + 20                                 # the white address: after the reload
        while True:
            r = await rc.invoke(broker, signed(RequestCode.SEND_MESSAGE_V2, send_ext(topic), b"white", None))
            if r.code == ResponseCode.SUCCESS or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert r.code == ResponseCode.SUCCESS, r.remark
    finally:
        await rc.close()


def test_mqadmin_acl_commands(cluster: Cluster, tmp_path: Path) -> None:
    asyncio.run(_scenario(cluster, tmp_path))
