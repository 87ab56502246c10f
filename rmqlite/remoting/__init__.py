"""RocketMQ remoting protocol: sans-IO codec (``codec``) and asyncio shell (``transport``)."""

from rmqlite.remoting.codec import FrameDecoder, FrameError, encode_frame
from rmqlite.remoting.codes import LanguageCode, RequestCode, ResponseCode, SerializeType
from rmqlite.remoting.command import RemotingCommand

__all__ = [
    "FrameDecoder",
    "FrameError",
    "LanguageCode",
    "RemotingCommand",
    "RequestCode",
    "ResponseCode",
    "SerializeType",
    "encode_frame",
]
