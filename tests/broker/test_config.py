"""broker.conf parsing: keys, defaults, unknown-key warnings, bad values."""

from __future__ import annotations

import logging

import pytest

from rmqlite.broker.config import BrokerConfig, ConfigError, load_broker_config, parse_delay_levels, parse_properties


def write(tmp_path, text: str) -> str:
    path = tmp_path / "broker.conf"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_match_rocketmq() -> None:
    c = load_broker_config(None)
    assert c.brokerClusterName == "DefaultCluster"
    assert c.brokerId == 0 and c.listenPort == 10911 and c.haListenPort == 10912
    assert c.brokerIP1 == "127.0.0.1"
    assert c.autoCreateTopicEnable and c.autoCreateSubscriptionGroup
    assert c.defaultTopicQueueNums == 8
    assert c.flushDiskType == "ASYNC_FLUSH" and c.brokerRole == "ASYNC_MASTER"
    assert c.deleteWhen == "04" and c.fileReservedTime == 72
    assert c.maxMessageSize == 4 * 1024 * 1024
    # laptop-sized files (documented in docs/store.md); consume queue as Java
    assert c.mappedFileSizeCommitLog == 64 << 20 and c.mappedFileSizeConsumeQueue == 6_000_000
    assert c.maxHashSlotNum == 500_000 and c.maxIndexNum == 2_000_000
    assert c.registerNameServerPeriod == 30_000 and c.brokerPermission == 6
    assert c.storePathRootDir.endswith("store")
    assert len(c.delay_levels_ms()) == 18 and c.delay_levels_ms()[2] == 10_000


def test_properties_syntax(tmp_path) -> None:
    path = write(tmp_path, """
# a comment
! another comment
brokerClusterName = MyCluster
brokerName:broker-x
listenPort   20911
namesrvAddr=127.0.0.1:9876;127.0.0.1:9877
flushDiskType=SYNC_FLUSH
messageDelayLevel=1s 2s \\
   3s
deleteWhen=04
serverWorkerThreads=4
""")
    c = load_broker_config(path)
    assert c.brokerClusterName == "MyCluster" and c.brokerName == "broker-x"
    assert c.listenPort == 20911 and c.haListenPort == 20912
    assert c.namesrv_addrs == ["127.0.0.1:9876", "127.0.0.1:9877"]
    assert c.is_sync_flush
    assert c.delay_levels_ms() == [1000, 2000, 3000]
    assert c.extra["serverWorkerThreads"] == 4
    assert c.get("serverWorkerThreads") == 4 and c.get("clientWorkerThreads") == 4


def test_cli_override_wins(tmp_path) -> None:
    path = write(tmp_path, "namesrvAddr=1.1.1.1:9876\n")
    c = load_broker_config(path, {"namesrvAddr": "127.0.0.1:19876"})
    assert c.namesrvAddr == "127.0.0.1:19876"


def test_unknown_key_is_a_warning_naming_it(tmp_path, caplog) -> None:
    path = write(tmp_path, "brokerName=b\nnoSuchKeyAtAll=1\n")
    with caplog.at_level(logging.WARNING, logger="rmqlite.broker.config"):
        c = load_broker_config(path)
    assert c.brokerName == "b"
    assert any("noSuchKeyAtAll" in r.getMessage() for r in caplog.records)


def test_known_unused_keys_are_silent(tmp_path, caplog) -> None:
    path = write(tmp_path, "serverSelectorThreads=3\nenableDLegerCommitLog=false\nhaMasterAddress=\n"
                           "transientStorePoolEnable=false\nclientCloseSocketIfTimeout=true\n")
    with caplog.at_level(logging.WARNING, logger="rmqlite.broker.config"):
        load_broker_config(path)
    assert not caplog.records


@pytest.mark.parametrize("line,key", [
    ("listenPort=abc", "listenPort"),
    ("autoCreateTopicEnable=yes", "autoCreateTopicEnable"),
    ("brokerRole=MASTER", "brokerRole"),
    ("flushDiskType=FAST", "flushDiskType"),
    ("messageDelayLevel=1x 2s", "messageDelayLevel"),
    ("namesrvAddr=localhost", "namesrvAddr"),
    ("serverWorkerThreads=many", "serverWorkerThreads"),
])
def test_bad_value_raises_config_error_naming_key_and_value(tmp_path, line: str, key: str) -> None:
    path = write(tmp_path, line + "\n")
    with pytest.raises(ConfigError) as info:
        load_broker_config(path)
    assert info.value.key == key
    assert key in str(info.value) and line.split("=", 1)[1] in str(info.value)


def test_master_forces_broker_id_zero_and_slave_needs_positive_id(tmp_path) -> None:
    assert load_broker_config(write(tmp_path, "brokerId=3\n")).brokerId == 0
    assert load_broker_config(write(tmp_path, "brokerId=2\nbrokerRole=SLAVE\n")).brokerId == 2
    with pytest.raises(ConfigError):
        load_broker_config(write(tmp_path, "brokerRole=SLAVE\n"))


def test_to_properties_has_every_key() -> None:
    c = BrokerConfig(brokerName="b1")
    props = c.to_properties()
    assert props["brokerName"] == "b1" and props["autoCreateTopicEnable"] == "true"
    assert props["serverWorkerThreads"] == "8" and props["namesrvAddr"] == ""
    assert "brokerName=b1\n" in c.to_properties_text()


def test_parse_properties_and_delay_levels() -> None:
    assert parse_properties("a=1\n  b : 2 \nc\n#x=1\n") == [("a", "1"), ("b", "2"), ("c", "")]
    assert parse_delay_levels("1s 1m 1h 1d") == [1000, 60_000, 3_600_000, 86_400_000]
