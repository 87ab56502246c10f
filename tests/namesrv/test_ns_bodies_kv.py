"""RegisterBrokerBody codecs (Java-made samples) and kvConfig.json persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmqlite.namesrv.bodies import (BodyError, DataVersion, TopicConfig, decode_register_body,
                                    dumps_standard, encode_register_body)
from rmqlite.namesrv.kvconfig import KVConfigStore, default_kv_config_path

# RegisterBrokerBody.encode(true) / encode(false) from rocketmq-common 4.9.4
JAVA_COMPRESSED = bytes.fromhex(
    "78da63606050af564ace2fcd2b492d52b232d7512ac9cc4d2d2e49cc2d50b232343740805a0606062620960ac92f"
    "c84c0e01aa513001423385604f3f771fd7f8104777a0ac588853b8a181918205109a2bf886fa8478426598a26301"
    "ddcf19de")
JAVA_JSON = (
    b'{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":7,'
    b'"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,'
    b'"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,'
    b'"writeQueueNums":4},"TBW102":{"order":true,"perm":7,"readQueueNums":8,"topicFilterType":'
    b'"MULTI_TAG","topicName":"TBW102","topicSysFlag":1,"writeQueueNums":8}}}}')


def test_decode_java_compressed_body() -> None:
    body = decode_register_body(JAVA_COMPRESSED, compressed=True)
    assert body.data_version == DataVersion(1700000000000, 7)
    assert body.filter_server_list == []
    by_name = {t.topic_name: t for t in body.topic_configs}
    assert by_name["TBW102"] == TopicConfig("TBW102", 8, 8, 7, "MULTI_TAG")  # no sysFlag/order
    assert by_name["TopicTest"] == TopicConfig("TopicTest", 4, 4, 6)


def test_decode_java_json_body_and_our_encoder_matches_it() -> None:
    body = decode_register_body(JAVA_JSON, compressed=False)
    assert body.data_version == DataVersion(1700000000000, 7)
    assert body.topic_configs[1] == TopicConfig("TBW102", 8, 8, 7, "MULTI_TAG", 1, True)
    assert encode_register_body(body.data_version, body.topic_configs) == JAVA_JSON
    again = encode_register_body(body.data_version, body.topic_configs, compressed=True)
    assert decode_register_body(again, True).topic_configs == decode_register_body(
        JAVA_COMPRESSED, True).topic_configs


@pytest.mark.parametrize("data", [b"", b"\x78\x9c", JAVA_COMPRESSED[:20],
                                  encode_register_body(DataVersion(), [], compressed=True)[:-9]])
def test_truncated_compressed_body_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(BodyError):
        decode_register_body(data, compressed=True)


def test_bad_json_body_field_types() -> None:
    for text in (b'{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"perm":"x"}}}}',
                 b'{"topicConfigSerializeWrapper":{"dataVersion":[]}}',
                 b'{"filterServerList":3}', b"\xff"):
        with pytest.raises(BodyError):
            decode_register_body(text, compressed=False)


def test_standard_json_escapes_like_browser_compatible() -> None:
    assert dumps_standard({"b": {1: "x/y", 0: "\u00e9\t\u2028\U0001F600"}, "a": True}) == (
        b'{"a":true,"b":{"0":"\\u00E9\\t\\u2028\\uD83D\\uDE00","1":"x\\/y"}}')


# kvConfig.json written by a real 4.9.4 namesrv (compact fastjson, HashMap order)
JAVA_KV_FILE = (
    '{"configTable":{"ORDER_TOPIC_CONFIG_\u00e9/x\\u2028":{"T1_\u00e9/x\\u2028":"broker-a_\u00e9/x'
    '\\u2028:8;broker-b_\u00e9/x\\u2028:4"},"ORDER_TOPIC_CONFIG_zz9":{"T1_zz9":"broker-a_zz9:8;'
    'broker-b_zz9:4"},"ORDER_TOPIC_CONFIG-\U0001F600\u4e2d":{"T1-\U0001F600\u4e2d":"broker-a-'
    '\U0001F600\u4e2d:8;broker-b-\U0001F600\u4e2d:4"},"ORDER_TOPIC_CONFIG_r2":{"T1_r2":'
    '"broker-a_r2:8;broker-b_r2:4"}}}')


def test_kv_file_written_by_java_round_trips_byte_exact(tmp_path: Path) -> None:
    path = tmp_path / "kvConfig.json"
    path.write_text(JAVA_KV_FILE, encoding="utf-8")
    store = KVConfigStore(path)
    store.load()
    assert store.get("ORDER_TOPIC_CONFIG_zz9", "T1_zz9") == "broker-a_zz9:8;broker-b_zz9:4"
    assert store.to_json() == JAVA_KV_FILE


def test_kv_persistence_round_trip_with_backup(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "kvConfig.json"
    store = KVConfigStore(path)
    store.load()  # missing file = empty
    store.put("NS", "k", "v1")
    store.save()
    assert path.read_text() == '{"configTable":{"NS":{"k":"v1"}}}' and not store.dirty
    store.put("NS", "k", "v2")
    store.delete("NS", "gone")
    store.save()
    assert Path(str(path) + ".bak").read_text() == '{"configTable":{"NS":{"k":"v1"}}}'
    assert not Path(str(path) + ".tmp").exists()
    again = KVConfigStore(path)
    again.load()
    assert again.get("NS", "k") == "v2"
    path.unlink()  # crash between delete and rename: the .bak is used
    fallback = KVConfigStore(path)
    fallback.load()
    assert fallback.get("NS", "k") == "v1"


def test_corrupt_kv_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "kvConfig.json"
    path.write_text("{broken")
    with pytest.raises(ValueError, match="kvConfig.json"):
        KVConfigStore(path).load()
    assert path.read_text() == "{broken"


def test_default_kv_path() -> None:
    assert default_kv_config_path("/home/x") == "/home/x/namesrv/kvConfig.json"
