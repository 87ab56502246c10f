"""ACL 1.0 (rmqlite.broker.acl): plain_acl.yml reading, signatures, permission checks - against Java's own code.

Fixed cases pin Java 4.9.4's answers (remarks include Java's stack element, as the broker sends them);
``test_matches_java_plain_access_validator`` replays hundreds of generated requests (right/wrong keys, wrong,
replayed and tampered signatures, every resource-bearing request code, white-listed and other addresses)
through rocketmq-acl's PlainAccessValidator via FeatureOracle and compares every answer (skipped without Java).
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from feat_java import Oracle, interop_jar

from rmqlite.broker.acl import AclError, AclState, address_matcher, sign, signed_content
from rmqlite.broker.acl_yaml import parse_yaml
from rmqlite.remoting.command import RemotingCommand

ACL_YML = """\
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
      - RMQ_SYS_TRACE_TOPIC=PUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true

  - accessKey: pubonly1
    secretKey: pubsecret9
    defaultTopicPerm: PUB
    defaultGroupPerm: DENY
    whiteRemoteAddress: 172.16.5.{1,2}
"""

EXC = "org.apache.rocketmq.acl.common.AclException: "
AT_V = ", org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:"
AT_C = ", org.apache.rocketmq.acl.plain.PlainPermissionManager.checkPerm(PlainPermissionManager.java:"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "plain_acl.yml").write_text(ACL_YML)
    return tmp_path


def signed(code: int, ext: dict[str, str], body: bytes | None, ak: str, sk: str) -> RemotingCommand:
    """What AclClientRPCHook.doBeforeRequest produces."""
    fields = dict(ext, AccessKey=ak)
    fields["Signature"] = sign(signed_content(fields, body), sk)
    return RemotingCommand.request(code, fields, body)


def send_ext(topic: str, group: str = "pg") -> dict[str, str]:
    return {"a": group, "b": topic, "c": "TBW102", "d": "4", "e": "0", "f": "0", "g": "1", "h": "0",
            "i": "UNIQ_KEY\x01abc", "j": "0", "k": "false", "m": "false"}


def pull_ext(topic: str, group: str) -> dict[str, str]:
    return {"consumerGroup": group, "topic": topic, "queueId": "0", "queueOffset": "0", "maxMsgNums": "32",
            "sysFlag": "2", "commitOffset": "0", "suspendTimeoutMillis": "1000", "subVersion": "0"}


def heartbeat_body(group: str, topics: list[str]) -> bytes:
    subs = [{"topic": t, "subString": "*", "expressionType": "TAG", "tagsSet": [], "codeSet": [], "subVersion": 1,
             "classFilterMode": False} for t in topics]
    return json.dumps({"clientID": "c@1", "producerDataSet": [], "consumerDataSet": [
        {"groupName": group, "consumeType": "CONSUME_PASSIVELY", "messageModel": "CLUSTERING",
         "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET", "subscriptionDataSet": subs, "unitMode": False}]}).encode()


def test_reads_the_distributed_sample_file(home: Path) -> None:
    acl = AclState(str(home))
    acl.load()
    acct = acl.accounts[str(home / "conf" / "plain_acl.yml")]
    assert set(acct) == {"RocketMQ", "rocketmq2", "pubonly1"}
    assert acct["rocketmq2"].admin and acct["RocketMQ"].perms["%RETRY%groupA"] == 1
    assert acct["RocketMQ"].perms["topicB"] == 12 and acct["RocketMQ"].secret_key == "12345678"


@pytest.mark.parametrize("cmd,addr,want", [
    (lambda: RemotingCommand.request(10, {"topic": "topicB"}), "127.0.0.1:1", EXC + "No accessKey is configured" + AT_V + "663)"),
    (lambda: signed(310, send_ext("topicB"), b"x", "nobody12", "12345678"), "127.0.0.1:1", EXC + "No acl config for nobody12" + AT_V + "667)"),
    (lambda: signed(310, send_ext("topicB"), b"x", "RocketMQ", "wrongkey"), "127.0.0.1:1", EXC + "Check signature failed for accessKey=RocketMQ" + AT_V + "683)"),
    (lambda: signed(310, send_ext("topicB"), b"x", "RocketMQ", "12345678"), "127.0.0.1:1", None),
    (lambda: signed(310, send_ext("topicA"), b"x", "RocketMQ", "12345678"), "127.0.0.1:1", EXC + "No default permission for topic:topicA" + AT_C + "610)"),
    (lambda: signed(310, send_ext("topicC"), b"x", "RocketMQ", "12345678"), "127.0.0.1:1", EXC + "No default permission for topic:topicC" + AT_C + "610)"),
    (lambda: signed(310, send_ext("other"), b"x", "RocketMQ", "12345678"), "127.0.0.1:1", EXC + "No default permission for topic:other" + AT_C + "605)"),
    (lambda: signed(11, pull_ext("topicC", "groupA"), None, "RocketMQ", "12345678"), "127.0.0.1:1", EXC + "No default permission for group:groupA" + AT_C + "610)"),
    (lambda: signed(11, pull_ext("topicC", "groupX"), None, "RocketMQ", "12345678"), "127.0.0.1:1", None),
    (lambda: signed(17, {"topic": "t"}, None, "RocketMQ", "12345678"), "127.0.0.1:1", EXC + "Need admin permission for request code=17, but accessKey=RocketMQ is not" + AT_C + "580)"),
    (lambda: signed(17, {"topic": "t"}, None, "rocketmq2", "12345678"), "127.0.0.1:1", None),
    (lambda: RemotingCommand.request(17, {"topic": "t"}), "192.168.0.7:1", None),                 # global white list
    (lambda: RemotingCommand.request(17, {"topic": "t", "AccessKey": "rocketmq2"}), "192.168.1.9:1", None),  # account white list
    (lambda: RemotingCommand.request(34, None, heartbeat_body("g", ["t"])), "127.0.0.1:1", EXC + "No accessKey is configured" + AT_V + "663)"),
    (lambda: signed(310, send_ext("RMQ_SYS_TRACE_TOPIC"), b"x", "RocketMQ", "12345678"), "127.0.0.1:1", None),
])
def test_decisions(home: Path, cmd, addr: str, want: str | None) -> None:
    acl = AclState(str(home))
    acl.load()
    assert acl.check(cmd(), addr) == want


def test_tampered_and_replayed_requests(home: Path) -> None:
    acl = AclState(str(home))
    acl.load()
    good = signed(310, send_ext("topicB"), b"payload", "RocketMQ", "12345678")
    assert acl.check(good, "127.0.0.1:5") is None
    assert acl.check(good, "127.0.0.1:6") is None           # replay: ACL 1.0 signs no nonce/time, Java accepts it
    for tamper in ({"b": "topicA"}, {"e": "1"}, {"AccessKey": "rocketmq2"}):
        bad = RemotingCommand.request(310, {**good.ext_fields, **tamper}, good.body)
        assert "Check signature failed" in acl.check(bad, "127.0.0.1:5")
    body_changed = RemotingCommand.request(310, dict(good.ext_fields), b"payloaD")
    assert "Check signature failed" in acl.check(body_changed, "127.0.0.1:5")


def test_reload_keeps_dropped_keys_known(home: Path) -> None:
    acl = AclState(str(home))
    acl.load()
    path = home / "conf" / "plain_acl.yml"
    path.write_text(ACL_YML.replace("  - accessKey: pubonly1", "  - accessKey: pubonly2"))
    acl.reload_file(str(path))
    cmd = signed(310, send_ext("t"), b"x", "pubonly1", "pubsecret9")
    assert acl.check(cmd, "127.0.0.1:1") == EXC + "No PlainAccessResource for accessKey=pubonly1" + AT_V + "674)"


def test_bad_account_is_refused_at_load(home: Path) -> None:
    (home / "conf" / "plain_acl.yml").write_text("accounts:\n  - accessKey: short\n    secretKey: 12345678\n")
    with pytest.raises(AclError, match="cannot be null and length should longer than 6"):
        AclState(str(home)).load()


@pytest.mark.parametrize("pattern,yes,no", [
    ("192.168.*.*", ["192.168.3.4"], ["192.169.3.4"]),
    ("192.168.1.1-3", ["192.168.1.2"], ["192.168.1.4"]),
    ("192.168.1.{1,2,3}", ["192.168.1.3"], ["192.168.1.4"]),
    ("192.168.1.1,192.168.1.9", ["192.168.1.9"], ["192.168.1.2"]),
    ("*", ["1.2.3.4"], []),
    ("", [], ["127.0.0.1"]),
    ("127.0.0.1", ["127.0.0.1"], ["127.0.0.2"]),
])
def test_address_patterns(pattern: str, yes: list[str], no: list[str]) -> None:
    m = address_matcher(pattern)
    assert all(m(ip) for ip in yes) and not any(m(ip) for ip in no)


# ------------------------------------------------------------------------------------------- against Java
@pytest.fixture(scope="module")
def oracle():
    try:
        jar = interop_jar()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    if jar is None:
        pytest.skip("the Java oracle needs java and mvn")
    o = Oracle(jar)
    yield o
    o.close()


def _requests(rng: random.Random) -> list[tuple[RemotingCommand, str]]:
    keys = [("RocketMQ", "12345678"), ("rocketmq2", "12345678"), ("pubonly1", "pubsecret9"), ("ghost999", "x" * 8),
            ("RocketMQ", "badbadbad")]
    topics = ["topicA", "topicB", "topicC", "other", "%RETRY%groupB", "RMQ_SYS_TRACE_TOPIC"]
    groups = ["groupA", "groupB", "groupC", "gX"]
    addrs = ["127.0.0.1:1234", "192.168.0.5:1", "192.168.1.77:2", "172.16.5.2:3", "10.10.103.9:4", "10.10.104.9:4"]
    out = []
    for _ in range(400):
        code = rng.choice([10, 310, 11, 12, 34, 35, 36, 38, 15, 17, 25, 200, 14, 105])
        topic, group = rng.choice(topics), rng.choice(groups)
        body = None
        if code == 10:
            ext = {"producerGroup": group, "topic": topic, "group": group}
        elif code == 310:
            ext = send_ext(topic, group)
        elif code == 11:
            ext = pull_ext(topic, group)
        elif code == 34:
            ext, body = {}, heartbeat_body(group, [topic, rng.choice(topics)])
        elif code == 35:
            ext = {"clientID": "c1", "consumerGroup": group} if rng.random() < 0.8 else {"consumerGroup": group}
        elif code in (36, 38):
            ext = {"group": group, "offset": "1", "delayLevel": "0", "consumerGroup": group}
        elif code == 15:
            ext = {"consumerGroup": group, "topic": topic, "queueId": "0", "commitOffset": "5"}
        else:
            ext = {"topic": topic, "key": "k", "maxNum": "1", "beginTimestamp": "0", "endTimestamp": "1"}
        r = rng.random()
        if r < 0.75:
            ak, sk = rng.choice(keys)
            cmd = signed(code, ext, body, ak, sk)
            if r < 0.1:
                cmd.ext_fields["b" if code == 310 else "topic"] = rng.choice(topics)       # tampered
        else:
            cmd = RemotingCommand.request(code, ext or None, body)
        out.append((cmd, rng.choice(addrs)))
    return out


def test_matches_java_plain_access_validator(oracle: Oracle, home: Path) -> None:
    rng = random.Random(11)
    cases = _requests(rng)
    acl = AclState(str(home))
    acl.load()
    request = {"op": "acl", "home": str(home), "requests": [
        {"code": c.code, "ext": c.ext_fields or None, "addr": addr,
         "body": base64.b64encode(c.body).decode() if c.body is not None else None} for c, addr in cases]}
    java = oracle.ask(request)["results"]
    ours = [acl.check(c, addr) or "OK" for c, addr in cases]
    diffs = [(c.code, c.ext_fields, addr, o, j) for (c, addr), o, j in zip(cases, ours, java) if o != j]
    assert not diffs, f"{len(diffs)} of {len(cases)} differ; first: {diffs[:3]}"


def test_signature_matches_java_client_hook(oracle: Oracle) -> None:
    ext = send_ext("topicB")
    body = "héllo".encode()
    java = oracle.ask({"op": "sign", "code": 310, "ext": ext, "body": base64.b64encode(body).decode(),
                       "ak": "RocketMQ", "sk": "12345678"})["ext"]
    assert java == signed(310, ext, body, "RocketMQ", "12345678").ext_fields


def test_yaml_reader_matches_snakeyaml(oracle: Oracle, tmp_path: Path) -> None:
    text = ACL_YML + "  - accessKey: 'quoted1'\n    secretKey: 0123456\n    admin: yes\n    topicPerms: [a=PUB, 'b=SUB']\n"
    path = tmp_path / "x.yml"
    path.write_text(text)
    java = oracle.ask({"op": "yaml", "path": str(path)})
    ours = parse_yaml(text)
    assert java["data"]["accounts"][3]["secretKey"] == ours["accounts"][3]["secretKey"] == 42798
    assert [a["accessKey"] for a in java["accounts"]] == [a["accessKey"] for a in ours["accounts"]]
    assert java["accounts"][3]["admin"] is True and ours["accounts"][3]["admin"] is True
