"""The floor: the least a Python server must do to answer RocketMQ producers, with no storage at all.

How it works:
1. One asyncio ``Protocol`` per connection splits frames (length word, header word) out of a bytearray,
   ``json.loads`` each JSON header (binary ROCKETMQ headers go through rmqlite's codec) and answers at once.
2. It plays nameserver AND broker on one port: GET_ROUTEINFO_BY_TOPIC returns a route for ANY topic with
   8 queues on one broker whose address is this very server; SEND_MESSAGE / SEND_MESSAGE_V2 /
   SEND_BATCH_MESSAGE get SUCCESS with msgId (an offset message id), queueId and a per-queue counter as
   queueOffset; every other request gets a bare SUCCESS. Oneway requests get no reply.
3. Bodies are never looked at and nothing is kept but the counters, so the difference between this
   server and rmqlite on the same load is rmqlite's per-message cost above Python networking itself.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections import defaultdict

from rmqlite.remoting.codec import decode_payload, encode_frame

__all__ = ["FloorProtocol", "FloorState", "serve_floor"]

_INT2 = struct.Struct(">II")
_SEND_CODES = {10, 310, 320}
ROUTE_CODE = 105
QUEUES = 8


class FloorState:
    """What the floor remembers: its own address and a next offset per (topic, queue)."""

    def __init__(self, host: str, port: int) -> None:
        self.offsets: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.phys = 0
        self.requests = 0
        self.set_address(host, port)

    def set_address(self, host: str, port: int) -> None:
        """The address the route names (the bound port once known)."""
        self.host = host
        self.port = port
        self.route_body = json.dumps({
            "brokerDatas": [{"brokerAddrs": {"0": f"{host}:{port}"}, "brokerName": "floor",
                             "cluster": "FloorCluster"}],
            "filterServerTable": {},
            "queueDatas": [{"brokerName": "floor", "perm": 6, "readQueueNums": QUEUES, "topicSysFlag": 0,
                            "writeQueueNums": QUEUES}],
        }, separators=(",", ":")).encode()
        self._ip_hex = "".join(f"{int(b):02X}" for b in host.split(".")) + f"{port:08X}"

    def answer(self, header: dict) -> tuple[dict, bytes | None]:
        """(ext fields, body) of the reply to a request header."""
        self.requests += 1
        code = header.get("code")
        ext = header.get("extFields") or {}
        if code in _SEND_CODES:
            topic = str(ext.get("b") or ext.get("topic") or "")
            queue = str(ext.get("e") or ext.get("queueId") or "0")
            key = (topic, queue)
            offset = self.offsets[key]
            self.offsets[key] = offset + 1
            self.phys += 1
            msg_id = f"{self._ip_hex}{self.phys:016X}"
            return {"msgId": msg_id, "queueId": queue, "queueOffset": str(offset)}, None
        if code == ROUTE_CODE:
            return {}, self.route_body
        return {}, None


class FloorProtocol(asyncio.Protocol):
    """One connection: split frames, answer each at once."""

    def __init__(self, state: FloorState) -> None:
        self.state = state
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos, end, out = 0, len(buf), []
        while end - pos >= 8:
            length, word = _INT2.unpack_from(buf, pos)
            if length < 4 or length > 16 * 1024 * 1024:
                self.transport.close()  # type: ignore[union-attr]
                return
            if end - pos - 4 < length:
                break
            hlen = word & 0xFFFFFF
            if word >> 24 == 0:
                header = json.loads(bytes(buf[pos + 8: pos + 8 + hlen]))
            else:  # ROCKETMQ binary header: reuse rmqlite's codec
                cmd = decode_payload(bytes(buf[pos + 4: pos + 4 + length]))
                header = {"code": cmd.code, "opaque": cmd.opaque, "flag": cmd.flag, "extFields": cmd.ext_fields}
                reply = self._reply_binary(cmd, header)
                if reply:
                    out.append(reply)
                pos += 4 + length
                continue
            pos += 4 + length
            if header.get("flag", 0) & 2:
                continue
            ext, body = self.state.answer(header)
            resp: dict[str, object] = {"code": 0}
            if ext:
                resp["extFields"] = ext
            resp.update(flag=1, language="JAVA", opaque=header.get("opaque", 0),
                        serializeTypeCurrentRPC="JSON", version=401)
            hb = json.dumps(resp, separators=(",", ":")).encode()
            body = body or b""
            out.append(_INT2.pack(4 + len(hb) + len(body), len(hb)) + hb + body)
        if pos:
            del buf[:pos]
        if out:
            self.transport.write(b"".join(out))  # type: ignore[union-attr]

    def _reply_binary(self, cmd, header: dict) -> bytes | None:
        if cmd.is_oneway:
            return None
        ext, body = self.state.answer(header)
        return encode_frame(cmd.response(ext_fields=ext, body=body))


async def serve_floor(host: str = "127.0.0.1", port: int = 0,
                      started: asyncio.Future[int] | None = None, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set (forever without one); ``started`` gets the bound port."""
    loop = asyncio.get_running_loop()
    state = FloorState(host, port)
    server = await loop.create_server(lambda: FloorProtocol(state), host, port, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    if bound != port:
        state.set_address(host, bound)  # the route must name the real port
    if started is not None:
        started.set_result(bound)
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        server.close()
        await server.wait_closed()
