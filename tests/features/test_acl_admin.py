"""ACL admin request codes 50-54 (handlers/acl_admin.py) over a real plain_acl.yml: success and failure of each,
the file Java would write (byte for byte), the running rules before and after the watcher's reload, the
permission check (any signed account; unknown / unsigned refused), ACL off, and the YAML writer (round trip;
byte-exact against the real SnakeYAML 1.30 when a JDK and the jar are here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmqlite.broker.acl import AclState, sign, signed_content
from rmqlite.broker.acl_yaml import dump_yaml, parse_yaml
from rmqlite.broker.handlers import dispatch
from rmqlite.broker.state import Ctx
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand

NOW = 1_700_000_000_123
ADMIN = ("rmqlite_admin", "admin-secret-1")
USER = ("rmqlite_user", "user-secret-1")
YML = """\
# comments are lost on a rewrite, as in Java
globalWhiteRemoteAddresses:
accounts:
  - accessKey: rmqlite_admin
    secretKey: admin-secret-1
    admin: true
  - accessKey: rmqlite_user
    secretKey: user-secret-1
    admin: false
    defaultTopicPerm: PUB|SUB
    topicPerms:
      - DeniedT=DENY
"""
STATE = SimpleNamespace(config=SimpleNamespace(brokerName="broker-a", brokerIP1="127.0.0.1", listenPort=10911,
                                               brokerClusterName="DefaultCluster"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "plain_acl.yml").write_text(YML)
    return tmp_path


def make_acl(home: Path) -> AclState:
    acl = AclState(str(home), clock=lambda: 42)
    acl.load()
    return acl


def req(code: int, ext: dict[str, str], who: tuple[str, str] | None = ADMIN) -> RemotingCommand:
    fields = dict(ext)
    if who is not None:
        fields["AccessKey"] = who[0]
        fields["Signature"] = sign(signed_content(fields, None), who[1])
    return RemotingCommand.request(code, fields)


def call(acl: AclState | None, cmd: RemotingCommand, now: int = NOW) -> RemotingCommand | None:
    """As the broker: the ACL hook first, then the handler with the broker's AclState in ``state.acl``."""
    if acl is not None:
        refused = acl.check(cmd, "10.1.1.1:5000")
        if refused is not None:
            return cmd.response(ResponseCode.SYSTEM_ERROR, refused)
    return dispatch(SimpleNamespace(config=STATE.config, acl=acl), cmd, Ctx(now_ms=now))


def send_allowed(acl: AclState, who: tuple[str, str], topic: str = "SomeTopic") -> str | None:
    return acl.check(req(RequestCode.SEND_MESSAGE_V2, {"a": "PG", "b": topic}, who), "10.1.1.1:5000")


def test_create_account_writes_java_file_and_applies_at_once(home: Path) -> None:
    acl = make_acl(home)
    new = ("acl_new_user", "acl-new-secret")
    assert send_allowed(acl, new) is not None
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, {
        "accessKey": new[0], "secretKey": new[1], "whiteRemoteAddress": "10.9.8.7", "admin": "false",
        "defaultTopicPerm": "PUB", "defaultGroupPerm": "SUB", "topicPerms": "T1=PUB,T2=SUB", "groupPerms": "G1=SUB"}))
    assert (r.code, r.remark) == (ResponseCode.SUCCESS, None)
    assert (home / "conf" / "plain_acl.yml").read_text() == f"""\
globalWhiteRemoteAddresses: null
accounts:
- accessKey: rmqlite_admin
  secretKey: admin-secret-1
  admin: true
- accessKey: rmqlite_user
  secretKey: user-secret-1
  admin: false
  defaultTopicPerm: PUB|SUB
  topicPerms:
  - DeniedT=DENY
- accessKey: acl_new_user
  secretKey: acl-new-secret
  whiteRemoteAddress: 10.9.8.7
  admin: false
  defaultTopicPerm: PUB
  defaultGroupPerm: SUB
  topicPerms:
  - T1=PUB
  - T2=SUB
  groupPerms:
  - G1=SUB
dataVersion:
- counter: 1
  timestamp: {NOW}
"""
    assert send_allowed(acl, new) is None and send_allowed(acl, new, "T2") is not None
    acl.reload_file(str(home / "conf" / "plain_acl.yml"))            # the watcher: same rules, no double apply
    assert send_allowed(acl, new) is None and acl.versions[str(home / "conf" / "plain_acl.yml")] == (NOW, 1)
    assert not list((home / "conf").glob(".*tmp"))                    # the temp file was renamed


def test_update_existing_account_merges_moves_last_and_applies_on_reload(home: Path) -> None:
    acl = make_acl(home)
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG,
                      {"accessKey": USER[0], "secretKey": "changed-secret", "admin": "true"}))
    assert r.code == ResponseCode.SUCCESS
    data = parse_yaml((home / "conf" / "plain_acl.yml").read_text())
    assert [a["accessKey"] for a in data["accounts"]] == [ADMIN[0], USER[0]]
    assert data["accounts"][1] == {"accessKey": USER[0], "secretKey": "changed-secret", "admin": True,
                                   "defaultTopicPerm": "PUB|SUB", "topicPerms": ["DeniedT=DENY"]}
    assert send_allowed(acl, USER) is None                            # Java: old rules until the reload
    acl.reload_file(str(home / "conf" / "plain_acl.yml"))
    assert "Check signature failed" in (send_allowed(acl, USER) or "")
    assert send_allowed(acl, (USER[0], "changed-secret")) is None


@pytest.mark.parametrize("ext,remark", [
    ({"accessKey": "short"}, "The accessKey=short and secretKey=null cannot be null and length should longer than 6"),
    ({}, "The accessKey=null and secretKey=null cannot be null and length should longer than 6"),
    ({"accessKey": "acl_bad_perm", "secretKey": "bad-perm-secret", "topicPerms": "T=ALL"},
     "Parse resource permission error for T=ALL.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or "
     "'PUB|SUB'."),
    ({"accessKey": "acl_bad_perm", "secretKey": "bad-perm-secret", "groupPerms": "G"},
     "Parse Resource format error for G.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"),
    ({"accessKey": "acl_bad_addr", "secretKey": "bad-addr-secret", "whiteRemoteAddress": "1.2.3.400"},
     "Netaddress examine Exception netaddress is 1.2.3.400"),
])
def test_update_failures(home: Path, ext: dict[str, str], remark: str) -> None:
    before = (home / "conf" / "plain_acl.yml").read_text()
    r = call(make_acl(home), req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, ext))
    assert (r.code, r.remark) == (ResponseCode.UPDATE_AND_CREATE_ACL_CONFIG_FAILED, remark)
    assert (home / "conf" / "plain_acl.yml").read_text() == before


def test_delete_account(home: Path) -> None:
    acl = make_acl(home)
    r = call(acl, req(RequestCode.DELETE_ACL_CONFIG, {"accessKey": USER[0]}))
    assert (r.code, r.remark) == (ResponseCode.SUCCESS, None)
    data = parse_yaml((home / "conf" / "plain_acl.yml").read_text())
    assert [a["accessKey"] for a in data["accounts"]] == [ADMIN[0]] and data["dataVersion"][0]["counter"] == 1
    assert (send_allowed(acl, USER) or "").startswith(
        "org.apache.rocketmq.acl.common.AclException: No acl config for rmqlite_user")
    for ext in ({"accessKey": USER[0]}, {"accessKey": "nobody_here"}, {}):
        r = call(acl, req(RequestCode.DELETE_ACL_CONFIG, ext))
        assert (r.code, r.remark) == (ResponseCode.DELETE_ACL_CONFIG_FAILED,
                                      f"The accesskey[{ext.get('accessKey', 'null')}] corresponding to accessConfig "
                                      "has been deleted failed.")


def test_global_white_addrs(home: Path) -> None:
    acl = make_acl(home)
    default = home / "conf" / "plain_acl.yml"
    r = call(acl, req(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, {"globalWhiteAddrs": "10.1.1.*,192.168.0.*"}))
    assert r.code == ResponseCode.SUCCESS
    assert default.read_text().startswith("globalWhiteRemoteAddresses:\n- 10.1.1.*\n- 192.168.0.*\naccounts:\n")
    assert send_allowed(acl, None) is not None                      # applies on the reload, as in Java
    acl.reload_file(str(default))
    assert send_allowed(acl, None) is None
    (home / "conf" / "acl").mkdir()
    other = home / "conf" / "acl" / "more.yml"
    other.write_text("")
    r = call(acl, req(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
                      {"globalWhiteAddrs": "1.1.1.1", "aclFileFullPath": str(other)}))
    assert r.code == ResponseCode.SUCCESS                           # a new map: Java HashMap order
    assert other.read_text() == f"globalWhiteRemoteAddresses:\n- 1.1.1.1\ndataVersion:\n- counter: 1\n  timestamp: {NOW}\n"
    outside = home.parent / "outside.yml"
    outside.write_text("")
    (home / "conf" / "x.yaml").write_text("")
    for ext in ({"globalWhiteAddrs": "1.1.1.1", "aclFileFullPath": str(outside)},
                {"globalWhiteAddrs": "1.1.1.1", "aclFileFullPath": str(home / "conf" / "x.yaml")},
                {"globalWhiteAddrs": "1.1.1.1", "aclFileFullPath": str(home / "conf" / "missing.yml")},
                {"aclFileFullPath": str(other)}):
        r = call(acl, req(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, ext))
        assert (r.code, r.remark) == (ResponseCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED,
                                      f"The globalWhiteAddresses[{ext.get('globalWhiteAddrs', 'null')}] has been "
                                      "updated failed.")


def test_cluster_acl_info_and_config(home: Path) -> None:
    acl = make_acl(home)
    path = str(home / "conf" / "plain_acl.yml")
    r = call(acl, req(RequestCode.GET_BROKER_CLUSTER_ACL_INFO, {}))
    assert r.code == ResponseCode.SUCCESS
    assert r.ext_fields == {"version": '{"counter":0,"timestamp":42}', "brokerName": "broker-a",
                            "allAclFileVersion": json.dumps({path: {"counter": 0, "timestamp": 42}},
                                                            separators=(",", ":")),
                            "brokerAddr": "127.0.0.1:10911", "clusterName": "DefaultCluster"}
    call(acl, req(RequestCode.DELETE_ACL_CONFIG, {"accessKey": USER[0]}))
    r = call(acl, req(RequestCode.GET_BROKER_CLUSTER_ACL_INFO, {}))
    assert json.loads(r.ext_fields["allAclFileVersion"]) == {path: {"counter": 1, "timestamp": NOW}}
    assert r.ext_fields["version"] == '{"counter":0,"timestamp":42}'   # Java's deprecated one: set on (re)load
    acl.reload_file(path)
    assert call(acl, req(RequestCode.GET_BROKER_CLUSTER_ACL_INFO, {})).ext_fields["version"] == \
        f'{{"counter":1,"timestamp":{NOW}}}'
    call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, {"accessKey": "acl_third", "secretKey": "12345678",
                                                            "topicPerms": "A=PUB"}))
    r = call(acl, req(RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG, {}))
    assert r.code == ResponseCode.SUCCESS and r.body == (
        b'{"globalWhiteAddrs":[],"plainAccessConfigs":[{"accessKey":"rmqlite_admin","admin":true,'
        b'"secretKey":"admin-secret-1"},{"accessKey":"acl_third","admin":false,"secretKey":"12345678",'
        b'"topicPerms":["A=PUB"]}]}')
    assert "  secretKey: '12345678'\n" in Path(path).read_text()


def test_permissions_any_signed_account_not_unknown_ones(home: Path) -> None:
    acl = make_acl(home)
    ext = {"accessKey": "acl_by_user", "secretKey": "by-user-secret"}
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, ext, who=None))
    assert r.code == ResponseCode.SYSTEM_ERROR and "No accessKey is configured" in r.remark
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, ext, who=("nobody_here", "whatever-1")))
    assert r.code == ResponseCode.SYSTEM_ERROR and "No acl config for nobody_here" in r.remark
    r = call(acl, req(RequestCode.DELETE_ACL_CONFIG, {"accessKey": ADMIN[0]}, who=(USER[0], "wrong-secret")))
    assert r.code == ResponseCode.SYSTEM_ERROR and "Check signature failed for accessKey=rmqlite_user" in r.remark
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_TOPIC, {"topic": "T"}, who=USER))
    assert "Need admin permission for request code=17" in r.remark
    # 4.9.4: ACL codes are not in Permission.ADMIN_CODE, so a non-admin signed account may change accounts
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, ext, who=USER))
    assert r.code == ResponseCode.SUCCESS
    assert call(acl, req(RequestCode.GET_BROKER_CLUSTER_ACL_INFO, {}, who=USER)).code == ResponseCode.SUCCESS


def test_acl_disabled_is_javas_null_validator(home: Path) -> None:
    r = call(None, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, {"accessKey": "acl_x_user", "secretKey": "12345678"}))
    assert r.code == ResponseCode.UPDATE_AND_CREATE_ACL_CONFIG_FAILED and "because \"accessValidator\" is null" in r.remark
    r = call(None, req(RequestCode.DELETE_ACL_CONFIG, {"accessKey": "acl_x_user"}))
    assert r.code == ResponseCode.DELETE_ACL_CONFIG_FAILED
    r = call(None, req(RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, {"globalWhiteAddrs": "1.1.1.1"}))
    assert r.code == ResponseCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED
    assert call(None, req(RequestCode.GET_BROKER_CLUSTER_ACL_INFO, {})) is None       # Java answers nothing
    assert call(None, req(RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG, {})) is None
    assert (home / "conf" / "plain_acl.yml").read_text() == YML


def test_odd_files(home: Path) -> None:
    acl = make_acl(home)
    f = home / "conf" / "plain_acl.yml"
    f.write_text(YML + "dataVersion:\n- counter: 7\n  timestamp: 5\n")          # snakeyaml: Integer, not Long
    r = call(acl, req(RequestCode.DELETE_ACL_CONFIG, {"accessKey": USER[0]}))
    assert r.code == ResponseCode.DELETE_ACL_CONFIG_FAILED and r.remark.startswith(
        "class java.lang.Integer cannot be cast to class java.lang.Long")
    assert "No acl config for rmqlite_user" in (send_allowed(acl, USER) or "")   # Java forgot the key before failing
    f.write_text(YML + "dataVersion:\n- counter: 7\n  timestamp: 1700000000000\n")
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, {"accessKey": ADMIN[0], "secretKey": ADMIN[1],
                                                                "admin": "true"}))
    assert r.code == ResponseCode.SUCCESS
    assert parse_yaml(f.read_text())["dataVersion"] == [{"counter": 8, "timestamp": NOW}]
    link = home / "conf" / "acl"
    link.mkdir()
    real = home / "real.yml"
    real.write_text("accounts:\n- accessKey: linked_user\n  secretKey: linked-secret\n")
    (link / "l.yml").symlink_to(real)
    acl.load()
    r = call(acl, req(RequestCode.UPDATE_AND_CREATE_ACL_CONFIG, {"accessKey": "linked_user", "secretKey": "new-secret-9"}))
    assert r.code == ResponseCode.SUCCESS and (link / "l.yml").is_symlink() and "new-secret-9" in real.read_text()


# ---------------------------------------------------------------------------------------------- writer
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=False, allow_infinity=True),
                     st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                     st.sampled_from(["", "yes", "08", "1_0", "a: b", "- x", "#c", "*", "10.1.*.*", "PUB|SUB", "~",
                                      "2001-12-14", "'q'", '"d"', " pad ", "x\ny", "{a}", "[b]", "a#b", "a #b"]))
_keys = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8)
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(_keys, inner, max_size=3)), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=4))
def test_dump_then_parse_round_trip(data: dict) -> None:
    from rmqlite.broker.acl_yaml import _resolve
    data = {_resolve(k): v for k, v in data.items()}                 # keys read back as YAML resolves them
    assert parse_yaml(dump_yaml(data)) == (data or {})


_JAR = Path(os.environ.get("RMQLITE_CACHE_DIR") or Path.home() / ".cache" / "rmqlite") / "rocketmq-4.9.4" / "lib" \
    / "snakeyaml-1.30.jar"
_JAVA = """import org.yaml.snakeyaml.Yaml; import java.io.*; import java.nio.file.*; import java.util.*;
public class YamlDump { public static void main(String[] a) throws Exception { for (String p : a) {
  Map m = new Yaml().loadAs(new FileInputStream(p), Map.class);
  Files.write(Paths.get(p + ".java"), new Yaml().dumpAsMap(m).getBytes("UTF-8")); } } }
"""


@pytest.mark.skipif(not _JAR.exists() or shutil.which("javac") is None, reason="no JDK or snakeyaml-1.30.jar")
def test_writer_matches_snakeyaml(tmp_path: Path) -> None:
    (tmp_path / "YamlDump.java").write_text(_JAVA)
    subprocess.run(["javac", "-cp", str(_JAR), "YamlDump.java"], cwd=tmp_path, check=True, timeout=120)
    values = ["x", "", "a: b", "yes", "No", "08", "0b_", "1_0", "1e5", "1.0E20", "2001-12-14", " lead", "trail ",
              "-a", "- a", ":a", "a#b", "a #b", "#a", "*a", "!a", "&a", "|a", "'a", '"a', "%a", "@a", "`a", "[a",
              "a,b", "{a}", "---", "~", "null", "<<", "=", "x\ty", "é", "a'b", "PUB|SUB", "10.10.103.*", "*",
              "192.168.1.{1,2}", 7, -5, 2**40, True, False, None, 1.5, 1e20, 1e-5, 0.001, 1234567.0]
    paths = []
    for i, v in enumerate(values):
        p = tmp_path / f"c{i}.yml"
        p.write_text(dump_yaml({"k": v, "l": [v, [v], {"m": v}], "n": {"o": v, "p": [], "q": {}}}), encoding="utf-8")
        paths.append(str(p))
    subprocess.run(["java", "-cp", f"{_JAR}{os.pathsep}.", "YamlDump", *paths], cwd=tmp_path, check=True, timeout=120)
    for p in paths:
        assert Path(p + ".java").read_text(encoding="utf-8") == Path(p).read_text(encoding="utf-8"), p
