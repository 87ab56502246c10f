"""REGISTER_BROKER / UNREGISTER_BROKER requests (``BrokerOuterAPI``), built as pure data.

How it works:
1. The body is RegisterBrokerBody JSON: ``{"filterServerList":[],"topicConfigSerializeWrapper":
   {"dataVersion":{...},"topicConfigTable":{...}}}``, uncompressed; ext ``bodyCrc32`` is
   CRC32(body) & 0x7FFFFFFF so the nameserver can verify it.
2. When the broker is not both readable and writable (brokerPermission), every topic is
   advertised with the broker's permission, as ``registerBrokerAll`` does.
3. ext: brokerName, brokerAddr (brokerIP1:listenPort), clusterName, haServerAddr
   (brokerIP2:haListenPort), brokerId, compressed=false, bodyCrc32.
"""

from __future__ import annotations

import zlib
from typing import Any

from rmqlite.broker.topics import PERM_READ, PERM_WRITE
from rmqlite.remoting import fastjson
from rmqlite.remoting.codes import RequestCode
from rmqlite.remoting.command import RemotingCommand

__all__ = ["register_broker_request", "unregister_broker_request", "register_body"]


def register_body(state: Any) -> bytes:
    """The RegisterBrokerBody JSON for the current topic table."""
    wrapper = state.topics.to_json()
    perm = state.config.brokerPermission
    if not (perm & PERM_READ and perm & PERM_WRITE):
        for cfg in wrapper["topicConfigTable"].values():
            cfg["perm"] = perm
    body = {"filterServerList": [], "topicConfigSerializeWrapper": wrapper}
    return fastjson.dumps(body).encode("utf-8")


def register_broker_request(state: Any) -> RemotingCommand:
    """A fresh REGISTER_BROKER request (new opaque each call)."""
    cfg = state.config
    body = register_body(state)
    ext = {
        "brokerName": cfg.brokerName,
        "brokerAddr": cfg.broker_addr,
        "clusterName": cfg.brokerClusterName,
        "haServerAddr": f"{cfg.brokerIP2}:{cfg.haListenPort}",
        "brokerId": str(state.broker_id),
        "compressed": "false",
        "bodyCrc32": str(zlib.crc32(body) & 0x7FFFFFFF),
    }
    return RemotingCommand.request(RequestCode.REGISTER_BROKER, ext, body)


def unregister_broker_request(state: Any) -> RemotingCommand:
    cfg = state.config
    ext = {
        "brokerName": cfg.brokerName,
        "brokerAddr": cfg.broker_addr,
        "clusterName": cfg.brokerClusterName,
        "brokerId": str(state.broker_id),
    }
    return RemotingCommand.request(RequestCode.UNREGISTER_BROKER, ext)
