"""A minimal online consumer/producer for admin tests: heartbeats a group and commits offsets.

``OnlineClient(namesrv)`` keeps one connection per broker (RemotingClient) and answers the requests
a broker sends to clients (RESET_CONSUMER_CLIENT_OFFSET, NOTIFY_CONSUMER_IDS_CHANGED: ignored;
GET_CONSUMER_RUNNING_INFO / CONSUME_MESSAGE_DIRECTLY: a small success body), so that mqadmin's
consumerConnection, consumerProgress, producerConnection and resetOffsetByTime see a live client.
"""

from __future__ import annotations

import json
import os
import time

from rmqlite.admin.ops import AdminClient
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import RemotingClient


class OnlineClient:
    """Heartbeats ``consumer_group`` (subscribed to ``topics``) and ``producer_group`` to every broker."""

    def __init__(self, namesrv: str, consumer_group: str | None, producer_group: str | None,
                 topics: list[str]) -> None:
        self.admin = AdminClient(namesrv)
        self.remoting = RemotingClient(handler=self._on_request, name="fake-client")
        self.client_id = f"127.0.0.1@{os.getpid()}#fake"
        self.consumer_group, self.producer_group, self.topics = consumer_group, producer_group, topics
        self.reset_requests: list[RemotingCommand] = []

    def _on_request(self, cmd: RemotingCommand, conn: object) -> RemotingCommand | None:
        if cmd.code == RequestCode.RESET_CONSUMER_CLIENT_OFFSET:
            self.reset_requests.append(cmd)
            return None
        if cmd.code == RequestCode.CONSUME_MESSAGE_DIRECTLY:
            body = {"autoCommit": True, "consumeResult": "CR_SUCCESS", "order": False, "remark": "consumed by fake",
                    "spentTimeMills": 1}
            return cmd.response(ResponseCode.SUCCESS, body=json.dumps(body).encode())
        if cmd.code == RequestCode.GET_CONSUMER_RUNNING_INFO:
            return cmd.response(ResponseCode.SUCCESS, body=b'{"properties":{},"mqTable":{},"statusTable":{},'
                                                           b'"subscriptionSet":[]}')
        return None if cmd.is_oneway else cmd.response(ResponseCode.SUCCESS)

    def _heartbeat_body(self) -> bytes:
        hb: dict = {"clientID": self.client_id, "consumerDataSet": [], "producerDataSet": []}
        if self.consumer_group:
            subs = [{"classFilterMode": False, "codeSet": [], "expressionType": "TAG", "subString": "*",
                     "subVersion": int(time.time() * 1000), "tagsSet": [], "topic": t} for t in self.topics]
            hb["consumerDataSet"].append({"consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
                                          "consumeType": "CONSUME_PASSIVELY", "groupName": self.consumer_group,
                                          "messageModel": "CLUSTERING", "subscriptionDataSet": subs,
                                          "unitMode": False})
        if self.producer_group:
            hb["producerDataSet"].append({"groupName": self.producer_group})
        return json.dumps(hb).encode()

    async def brokers(self) -> list[str]:
        info = await self.admin.cluster_info()
        return [a for bd in info.get("brokerAddrTable", {}).values()
                for k, a in bd.get("brokerAddrs", {}).items() if int(k) == 0]

    async def heartbeat(self) -> None:
        for addr in await self.brokers():
            resp = await self.remoting.invoke(addr, RemotingCommand.request(
                RequestCode.HEART_BEAT, body=self._heartbeat_body()), 5000)
            assert resp.code == ResponseCode.SUCCESS, resp.remark

    async def commit(self, topic: str, queue_id: int, offset: int) -> None:
        """UPDATE_CONSUMER_OFFSET on the master holding ``topic``."""
        route = await self.admin.route(topic)
        for b in route.brokers:
            resp = await self.remoting.invoke(b.master, RemotingCommand.request(
                RequestCode.UPDATE_CONSUMER_OFFSET, {"consumerGroup": self.consumer_group, "topic": topic,
                                                     "queueId": str(queue_id), "commitOffset": str(offset)}), 5000)
            assert resp.code == ResponseCode.SUCCESS, resp.remark

    async def close(self) -> None:
        await self.remoting.close()
        await self.admin.close()
