"""Transaction check-back in DLedger mode (in-process group): the producer answers the broker's
CHECK_TRANSACTION_STATE at once, on the same connection, as the Go client does (oneway END_TRANSACTION with the
offsets of the check). The re-appended half message it names must already be committed and readable, or the
commit is refused ("Find prepared transaction message failed") and the message is checked again and again.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from test_inprocess import GROUP, Group

from rmqlite.client import Client
from rmqlite.common.message import decode_records
from rmqlite.remoting.codes import RequestCode, ResponseCode
from rmqlite.remoting.command import RemotingCommand
from rmqlite.remoting.transport import Connection, RemotingClient

TOPIC = "TxInProc"
PGROUP = "pg_tx"


class EagerProducer:
    """A transaction producer that commits every checked message the moment the check arrives."""

    def __init__(self) -> None:
        self.checks: list[str] = []
        self.client = RemotingClient(handler=self._on_request, name="tx-producer")

    def _on_request(self, cmd: RemotingCommand, conn: Connection) -> None:
        if cmd.code != RequestCode.CHECK_TRANSACTION_STATE:
            return None
        msg, = decode_records(cmd.body)
        self.checks.append(msg.properties["UNIQ_KEY"])
        ext = {"producerGroup": PGROUP, "tranStateTableOffset": cmd.ext_fields["tranStateTableOffset"],
               "commitLogOffset": cmd.ext_fields["commitLogOffset"], "commitOrRollback": "8",
               "fromTransactionCheck": "true", "msgId": cmd.ext_fields.get("msgId", "")}
        conn.send_oneway(RemotingCommand.request(RequestCode.END_TRANSACTION, ext, oneway=True))
        return None

    async def heartbeat(self, addr: str) -> None:
        body = {"clientID": "127.0.0.1@eager", "producerDataSet": [{"groupName": PGROUP}], "consumerDataSet": []}
        resp = await self.client.invoke(addr, RemotingCommand.request(RequestCode.HEART_BEAT, {},
                                                                      json.dumps(body).encode()))
        assert resp.code == ResponseCode.SUCCESS


async def test_check_back_commit_answered_at_once_is_delivered(tmp_path: Path) -> None:
    g = Group(tmp_path, transactionCheckInterval="200", transactionTimeOut="100")
    await g.start()
    producer = EagerProducer()
    try:
        master = await g.master()
        addr = master.config.broker_addr
        await producer.heartbeat(addr)
        async with Client(g.namesrv) as client:
            await client.create_topic(addr, TOPIC, 1)
            route = await client.route(TOPIC)
            keys = [f"tx-{i}" for i in range(5)]
            for key in keys:   # half messages (TRANSACTION_PREPARED) left unknown: only the check-back commits
                props = {"TRAN_MSG": "true", "PGROUP": PGROUP, "UNIQ_KEY": key}
                await client.send(route, GROUP, 0, key.encode(), properties=props, sys_flag=0x4)

            async def delivered() -> list[str]:
                while True:
                    res = await client.pull(addr, "g_tx", TOPIC, 0, 0)
                    got = sorted(m.properties["UNIQ_KEY"] for m in res.messages)
                    if got == keys:
                        return got
                    await asyncio.sleep(0.05)
            async with asyncio.timeout(20):
                assert await delivered() == keys
        assert sorted(producer.checks) == keys          # one check each: every commit was accepted at once
    finally:
        await producer.client.close()
        await g.close()
