"""Java text formats reproduced by rmqlite.admin.javafmt."""

from __future__ import annotations

from rmqlite.admin.javafmt import hashmap_order, java_bytes_str, pretty_json, version_desc


def test_version_desc_matches_mqversion() -> None:
    assert version_desc(401) == "V4_9_4" and version_desc(0) == "V3_0_0_SNAPSHOT"
    assert version_desc(397) == "V4_9_2" and version_desc(10_000) == "HIGHER_VERSION"


def test_hashmap_order_matches_java_output() -> None:
    # as printed by a Java 4.9.4 client for a pulled message
    keys = ["KEYS", "UNIQ_KEY", "CLUSTER", "TAGS", "MIN_OFFSET", "MAX_OFFSET"]
    assert hashmap_order(keys) == ["MIN_OFFSET", "MAX_OFFSET", "KEYS", "UNIQ_KEY", "CLUSTER", "TAGS"]


def test_pretty_json_like_fastjson() -> None:
    assert pretty_json({"brokerAddrs": {0: "a:1", 1: "b:2"}, "l": [1, 2], "x": {}}) == (
        '{\n\t"brokerAddrs":{0:"a:1",1:"b:2"\n\t},\n\t"l":[\n\t\t1,\n\t\t2\n\t],\n\t"x":{}\n}')


def test_java_bytes() -> None:
    assert java_bytes_str(b"h\xff") == "[104, -1]"
