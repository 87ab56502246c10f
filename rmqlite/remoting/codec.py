"""Sans-IO codec for RocketMQ remoting frames.

How it works (``RemotingCommand.encode/decode``, ``RocketMQSerializable``, ``NettyDecoder``):
1. Frame = length:int32 | headerWord:int32 | header | body, big-endian. ``length``
   counts everything after itself. The header word's top byte is the serialize type
   (0 JSON, 1 ROCKETMQ binary); its low 24 bits are the header length.
2. ``encode_frame`` writes a command in its ``serialize_type``; JSON headers are
   compact with alphabetically sorted keys, like fastjson, and leave out null fields
   (an empty ``extFields`` is null in Java).
3. ``FrameDecoder.feed`` takes any chunk of bytes and returns the commands it
   completes; it keeps the partial tail (appended to until its frame is complete;
   complete frames are sliced straight out of the chunk). Anything malformed (length
   below 4 or above the cap, header longer than the frame, unknown serialize type, bad
   JSON, bad binary header) raises ``FrameError``: the caller closes that one connection.
4. Inbound ext-field values that are numbers or booleans are coerced to strings.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import struct

from rmqlite.remoting.codes import LanguageCode, SerializeType
from rmqlite.remoting.command import RemotingCommand

__all__ = ["FrameError", "FrameDecoder", "encode_frame", "decode_payload", "MAX_FRAME_SIZE"]

#: ``com.rocketmq.remoting.frameMaxLength`` default (16 MiB).
MAX_FRAME_SIZE = 16 * 1024 * 1024

_INT = struct.Struct(">i")
_UINT = struct.Struct(">I")
_UINT2 = struct.Struct(">II")
_BIN_FIXED = struct.Struct(">hbhii")  # code, language, version, opaque, flag
_LANG_BY_VALUE = {m.value: m.name for m in LanguageCode}


class FrameError(ValueError):
    """The byte stream is not a valid RocketMQ frame sequence."""


# ---------------------------------------------------------------- encoding


def encode_frame(cmd: RemotingCommand) -> bytes:
    """The complete wire bytes of ``cmd``."""
    if cmd.serialize_type == SerializeType.ROCKETMQ:
        header = encode_binary_header(cmd)
    else:
        header = encode_json_header(cmd)
    body = cmd.body or b""
    word = (int(cmd.serialize_type) << 24) | len(header)
    return _UINT2.pack(4 + len(header) + len(body), word) + header + body


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_esc = json.encoder.encode_basestring   # what that encoder writes a str with (C version when available)


def _encode_ext(ext: dict[str, str]) -> str:
    """``_dumps(ext)`` for the usual str -> str map, without the encoder's Python-level set-up."""
    try:
        return "{" + ",".join([_esc(k) + ":" + _esc(v) for k, v in ext.items()]) + "}"
    except TypeError:       # a key or value that is not a str: the general encoder decides
        return _dumps(ext)


def encode_json_header(cmd: RemotingCommand) -> bytes:
    """Compact JSON with keys in fastjson's (alphabetical) order; nulls omitted."""
    ext = cmd.ext_fields
    remark = cmd.remark
    language = cmd.language
    if type(cmd.code) is int and type(cmd.flag) is int and type(cmd.opaque) is int and type(cmd.version) is int \
            and type(language) is str and language.isalnum():
        # Fast path: ints are written as-is, so only extFields / remark need the JSON encoder.
        text = "".join((
            '{"code":', str(cmd.code),
            ',"extFields":' + _encode_ext(ext) if ext else "",
            ',"flag":', str(cmd.flag), ',"language":"', language, '","opaque":', str(cmd.opaque),
            ',"remark":' + _dumps(remark) if remark is not None else "",
            ',"serializeTypeCurrentRPC":"JSON","version":', str(cmd.version), "}",
        ))
        return text.encode("utf-8")
    obj: dict[str, object] = {"code": cmd.code}
    if ext:
        obj["extFields"] = ext
    obj["flag"] = cmd.flag
    obj["language"] = language
    obj["opaque"] = cmd.opaque
    if remark is not None:
        obj["remark"] = remark
    obj["serializeTypeCurrentRPC"] = "JSON"
    obj["version"] = cmd.version
    return _dumps(obj).encode("utf-8")


def encode_binary_header(cmd: RemotingCommand) -> bytes:
    """ROCKETMQ binary header (``RocketMQSerializable.rocketMQProtocolEncode``)."""
    lang = LanguageCode[cmd.language].value if cmd.language in LanguageCode.__members__ else 0
    parts = [_BIN_FIXED.pack(_s16(cmd.code), lang, _s16(cmd.version), _s32(cmd.opaque), _s32(cmd.flag))]
    remark = (cmd.remark or "").encode("utf-8")
    parts.append(_INT.pack(len(remark)))
    parts.append(remark)
    ext = bytearray()
    for key, value in cmd.ext_fields.items():
        if value is None:
            continue
        kb = key.encode("utf-8")
        vb = str(value).encode("utf-8")
        ext += struct.pack(">h", len(kb)) + kb + _INT.pack(len(vb)) + vb
    parts.append(_INT.pack(len(ext)))
    parts.append(bytes(ext))
    return b"".join(parts)


def _s16(value: int) -> int:
    value &= 0xFFFF
    return value - 0x10000 if value >= 0x8000 else value


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value >= 0x80000000 else value


# ---------------------------------------------------------------- decoding


class FrameDecoder:
    """Incremental frame splitter: ``feed(bytes) -> list[RemotingCommand]``."""

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self._buf = bytearray()
        self._max = max_frame_size

    @property
    def pending_bytes(self) -> int:
        """Bytes held for an incomplete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[RemotingCommand]:
        buf = self._buf
        if buf:
            buf += data
            if len(buf) >= 4:
                (length,) = _INT.unpack_from(buf, 0)
                if 4 <= length <= self._max and len(buf) - 4 < length:
                    return []           # still inside one frame: no copy until it is complete
            else:
                return []
            data = bytes(buf)
            buf.clear()
        elif type(data) is not bytes:
            data = bytes(data)
        out: list[RemotingCommand] = []
        pos = 0
        end = len(data)
        while end - pos >= 4:
            (length,) = _INT.unpack_from(data, pos)
            if length < 4 or length > self._max:
                buf += data[pos:]
                raise FrameError(f"frame length {length} outside [4, {self._max}]")
            nxt = pos + 4 + length
            if nxt > end:
                break
            out.append(_decode_frame(data, pos + 4, nxt))
            pos = nxt
        if pos < end:
            buf += data[pos:] if pos else data
        return out


def decode_payload(payload: bytes) -> RemotingCommand:
    """Decode one frame without its leading length word."""
    if len(payload) < 4:
        raise FrameError("frame shorter than its header-length word")
    return _decode_frame(payload, 0, len(payload))


def _decode_frame(data: bytes, start: int, stop: int) -> RemotingCommand:
    """The command in ``data[start:stop]`` (a frame without its length word, at least 4 bytes)."""
    (word,) = _UINT.unpack_from(data, start)
    stype = word >> 24
    hlen = word & 0xFFFFFF
    if hlen > stop - start - 4:
        raise FrameError(f"header length {hlen} exceeds frame ({stop - start - 4} bytes)")
    he = start + 4 + hlen
    header = data[start + 4 : he]
    body = data[he:stop] if he < stop else None
    if stype == SerializeType.JSON:
        cmd = decode_json_header(header)
    elif stype == SerializeType.ROCKETMQ:
        cmd = decode_binary_header(header)
    else:
        raise FrameError(f"unknown serialize type {stype}")
    cmd.body = body
    return cmd


_scan_once = json.scanner.c_make_scanner(json.JSONDecoder()) if json.scanner.c_make_scanner else None
_is_str = str.__instancecheck__


def _loads(text: str) -> object:
    """``json.loads(text)``, calling the C scanner directly when the text is exactly one value."""
    if _scan_once is not None:
        try:
            obj, end = _scan_once(text, 0)
        except StopIteration:
            pass            # leading whitespace or no value: json.loads decides (and words the error)
        else:
            if end == len(text):
                return obj
    return json.loads(text)


def decode_json_header(header: bytes) -> RemotingCommand:
    try:
        obj = _loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"invalid JSON header: {exc}") from None
    if not isinstance(obj, dict):
        raise FrameError("JSON header is not an object")
    # Fast path: what Java/Go clients send (int fields, str language, str-only extFields).
    get = obj.get
    code, opaque, flag, version = get("code"), get("opaque", 0), get("flag", 0), get("version", 0)
    ext, language, remark = get("extFields"), get("language", "JAVA"), get("remark")
    if (type(code) is int and type(opaque) is int and type(flag) is int and type(version) is int
            and type(language) is str and (remark is None or type(remark) is str)):
        if ext is None:
            ext = {}
        elif type(ext) is not dict or not all(map(_is_str, ext.values())):
            try:
                ext = _coerce_ext(ext)
            except (TypeError, ValueError) as exc:
                raise FrameError(f"invalid JSON header field: {exc}") from None
        return RemotingCommand(code, opaque, flag, remark, ext, None, language, version, SerializeType.JSON)
    try:
        return RemotingCommand(
            code=_json_int(obj, "code", required=True),
            opaque=_json_int(obj, "opaque"),
            flag=_json_int(obj, "flag"),
            remark=_json_remark(obj.get("remark")),
            ext_fields=_coerce_ext(obj.get("extFields")),
            language=_json_language(obj.get("language")),
            version=_json_int(obj, "version"),
            serialize_type=SerializeType.JSON,
        )
    except (TypeError, ValueError) as exc:
        raise FrameError(f"invalid JSON header field: {exc}") from None


def _json_int(obj: dict, key: str, required: bool = False) -> int:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValueError(f"'{key}' missing")
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"'{key}' is not an integer")
    return int(value)


def _json_remark(value: object) -> str | None:
    return None if value is None else str(value)


def _json_language(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _LANG_BY_VALUE.get(value, "OTHER")
    return str(value) if value is not None else "JAVA"


def _coerce_ext(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("'extFields' is not an object")
    out: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif isinstance(item, (dict, list)):
            out[str(key)] = json.dumps(item, separators=(",", ":"))
        else:
            out[str(key)] = str(item)
    return out


def decode_binary_header(header: bytes) -> RemotingCommand:
    try:
        code, lang, version, opaque, flag = _BIN_FIXED.unpack_from(header, 0)
        pos = _BIN_FIXED.size
        remark, pos = _read_str(header, pos, _INT)
        (ext_len,) = _INT.unpack_from(header, pos)
        pos += 4
        if ext_len < 0 or pos + ext_len > len(header):
            raise FrameError(f"extFields length {ext_len} exceeds header")
        ext = _read_ext(header[pos : pos + ext_len])
    except struct.error as exc:
        raise FrameError(f"truncated binary header: {exc}") from None
    return RemotingCommand(
        code=code,
        opaque=opaque,
        flag=flag,
        remark=remark or None,
        ext_fields=ext,
        language=_LANG_BY_VALUE.get(lang, "OTHER"),
        version=version,
        serialize_type=SerializeType.ROCKETMQ,
    )


def _read_str(buf: bytes, pos: int, fmt: struct.Struct) -> tuple[str, int]:
    (n,) = fmt.unpack_from(buf, pos)
    pos += fmt.size
    if n < 0 or pos + n > len(buf):
        raise FrameError(f"string length {n} exceeds header")
    try:
        return buf[pos : pos + n].decode("utf-8"), pos + n
    except UnicodeDecodeError:
        raise FrameError("string in binary header is not UTF-8") from None


_SHORT = struct.Struct(">h")


def _read_ext(buf: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(buf):
        key, pos = _read_str(buf, pos, _SHORT)
        value, pos = _read_str(buf, pos, _INT)
        if key and value:
            out[key] = value
    return out
