"""Subscriptions, TAG filtering and SQL92 property filtering (RocketMQ ``FilterAPI``, ``ExpressionMessageFilter``,
``ConsumerFilterManager``, ``ClientManageProcessor.checkClientConfig``).

How it works:
1. A TAG expression ``*`` / empty / None subscribes to all; otherwise ``a || b`` is split on
   ``||``, trimmed, blanks dropped; ``codeSet`` = Java ``String.hashCode`` of each tag.
2. Consume-queue matching: no subscription, classFilterMode, or subString ``*`` => match;
   otherwise the CQ tagsCode (as a signed 32-bit int, Java ``Long.intValue``) must be in codeSet.
   Clients re-check the real tag string, hash collisions are their business.
3. ``SubscriptionData.from_json`` accepts Java, Go (codeSet as strings) and C++ (subVersion as
   a string, missing fields) shapes; ``to_json`` writes Java's alphabetical bean form.
4. A subscription is TAG type when its expressionType is null, "" or exactly "TAG" (``ExpressionType.isTagType``);
   anything else is a property filter. Only "SQL92" compiles (``FilterFactory``); the compiled selector is
   cached on the SubscriptionData registered by HEART_BEAT (Java's ConsumerFilterData for that group/topic).
5. ``property_filter`` decides a pull's SQL92 filtering in Java's order: registered subscription that does
   not compile (or is empty / of an unknown type) -> FILTER_DATA_NOT_EXIST; enablePropertyFilter=false ->
   SYSTEM_ERROR; otherwise a record filter evaluating the selector on the stored message's properties (all of
   them, system ones like TAGS/KEYS included). A subscription sent in the pull itself that does not compile
   filters nothing (Java builds no filter data and lets every message through).
6. ``check_client_config`` is CHECK_CLIENT_CONFIG's answer: SUBSCRIPTION_PARSE_FAILED with Java's
   MQFilterException message for a bad expression.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rmqlite.common.message import decode_record, java_string_hash

__all__ = [
    "SUB_ALL",
    "SubscriptionData",
    "SubscriptionParseError",
    "build_subscription",
    "check_client_config",
    "is_tag_type",
    "java_string_hash",
    "property_filter",
    "tag_filter",
]

SUB_ALL = "*"
EXPRESSION_TAG = "TAG"
EXPRESSION_SQL92 = "SQL92"
FILTER_DATA_NOT_EXIST_REMARK = "The broker's consumer filter data is not exist!Your expression may be wrong!"
RecordFilter = Callable[[bytes], bool]


def is_tag_type(expression_type: str | None) -> bool:
    """``ExpressionType.isTagType``: null, "" or exactly "TAG"."""
    return expression_type is None or expression_type == "" or expression_type == EXPRESSION_TAG


class SubscriptionParseError(ValueError):
    """The subscription expression cannot be parsed."""


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


@dataclass(slots=True)
class SubscriptionData:
    """One topic subscription of a consumer group."""

    topic: str
    subString: str = SUB_ALL
    tagsSet: list[str] = field(default_factory=list)
    codeSet: list[int] = field(default_factory=list)
    subVersion: int = 0
    expressionType: str = EXPRESSION_TAG
    classFilterMode: bool = False
    _selector: Any = field(default=None, repr=False, compare=False)

    @property
    def is_tag_type(self) -> bool:
        return is_tag_type(self.expressionType)

    def selector(self) -> Any:
        """The compiled SQL92 selector (cached); raises ``Sql92Error`` (or ValueError for other types)."""
        if self._selector is None:
            try:
                self._selector = compile_property_filter(self.expressionType, self.subString)
            except ValueError as exc:          # Sql92Error is a ValueError; remembered, not retried
                self._selector = exc
        if isinstance(self._selector, Exception):
            raise self._selector
        return self._selector

    def matches_tags_code(self, tags_code: int | None) -> bool:
        """``ExpressionMessageFilter.isMatchedByConsumeQueue`` for TAG subscriptions."""
        if self.classFilterMode or tags_code is None or not self.is_tag_type:
            return True
        if self.subString == SUB_ALL or not self.subString:
            return True
        return _to_int32(tags_code) in self.codeSet

    def to_json(self) -> dict[str, Any]:
        return {
            "classFilterMode": self.classFilterMode, "codeSet": list(self.codeSet),
            "expressionType": self.expressionType, "subString": self.subString,
            "subVersion": self.subVersion, "tagsSet": list(self.tagsSet), "topic": self.topic,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SubscriptionData:
        codes: list[int] = []
        for c in d.get("codeSet") or []:
            try:
                codes.append(_to_int32(int(str(c).strip())))
            except ValueError:
                continue
        tags = [str(t) for t in (d.get("tagsSet") or [])]
        sub_string = d.get("subString")
        sub_string = SUB_ALL if sub_string is None else str(sub_string)
        if not codes and tags:
            codes = [java_string_hash(t) for t in tags]
        try:
            sub_version = int(str(d.get("subVersion", 0) or 0).strip())
        except ValueError:
            sub_version = 0
        return cls(
            topic=str(d.get("topic", "")), subString=sub_string, tagsSet=tags, codeSet=codes,
            subVersion=sub_version, expressionType=str(d.get("expressionType") or EXPRESSION_TAG),
            classFilterMode=_as_bool(d.get("classFilterMode", False)),
        )


def build_subscription(topic: str, sub_string: str | None, expression_type: str | None = None,
                       sub_version: int = 0) -> SubscriptionData:
    """``FilterAPI.build``: parse a pull request's subscription. Raises SubscriptionParseError."""
    expr = EXPRESSION_TAG if expression_type is None else expression_type
    data = SubscriptionData(topic=topic, subVersion=sub_version, expressionType=expr)
    if expr != EXPRESSION_TAG:
        if not sub_string:
            raise SubscriptionParseError(f"Expression can't be null! {expr}")
        data.subString = sub_string
        return data
    if sub_string is None or not sub_string.strip() or sub_string.strip() == SUB_ALL:
        data.subString = SUB_ALL
        return data
    data.subString = sub_string
    for tag in sub_string.split("||"):
        tag = tag.strip()
        if tag:
            if tag not in data.tagsSet:
                data.tagsSet.append(tag)
                data.codeSet.append(java_string_hash(tag))
    if not data.tagsSet:
        raise SubscriptionParseError("subString split error")
    return data


def tag_filter(sub: SubscriptionData | None) -> Callable[[int], bool] | None:
    """A CQ tagsCode predicate for the store, or None when everything matches."""
    if sub is None or sub.classFilterMode or not sub.is_tag_type or sub.subString in (SUB_ALL, ""):
        return None
    codes = frozenset(sub.codeSet)
    return lambda tags_code: _to_int32(tags_code) in codes


# ---------------------------------------------------------------------------------------------- property filters
def compile_property_filter(expression_type: str | None, expression: str | None) -> Any:
    """``FilterFactory.INSTANCE.get(type).compile(expression)``: only SQL92 is registered."""
    from rmqlite.broker.sql92 import compile_sql92
    if expression_type != EXPRESSION_SQL92:
        raise ValueError(f"no filter for expression type {expression_type!r}")
    return compile_sql92(expression)


def _selector_record_filter(selector: Any) -> RecordFilter:
    def matches(record: bytes) -> bool:
        try:
            msg, _ = decode_record(record)
        except Exception:
            return False
        return bool(selector.matches(msg.properties))
    return matches


def property_filter(sub: SubscriptionData, enabled: bool,
                    from_request: bool) -> RecordFilter | tuple[int, str] | None:
    """A pull's SQL92 decision: a record filter, None (everything matches) or (response code, remark)."""
    from rmqlite.remoting.codes import ResponseCode
    if sub.classFilterMode or sub.is_tag_type:
        return None
    try:
        selector = sub.selector() if sub.subString else None
    except Exception:
        selector = None
    if selector is None and not from_request:
        return (ResponseCode.FILTER_DATA_NOT_EXIST, FILTER_DATA_NOT_EXIST_REMARK)
    if not enabled:
        return (ResponseCode.SYSTEM_ERROR, f"The broker does not support consumer to filter message by "
                                           f"{sub.expressionType}")
    return None if selector is None else _selector_record_filter(selector)


def check_client_config(sub: SubscriptionData, enabled: bool) -> tuple[int, str | None]:
    """CHECK_CLIENT_CONFIG for one subscription: (response code, remark)."""
    from rmqlite.broker.sql92 import Sql92Error
    from rmqlite.remoting.codes import ResponseCode
    if sub.is_tag_type:
        return ResponseCode.SUCCESS, None
    if not enabled:
        return ResponseCode.SYSTEM_ERROR, f"The broker does not support consumer to filter message by {sub.expressionType}"
    try:
        compile_property_filter(sub.expressionType, sub.subString)
    except Sql92Error as exc:
        remark = None if sub.subString is None else exc.java_message
        return ResponseCode.SUBSCRIPTION_PARSE_FAILED, remark
    except ValueError:
        return ResponseCode.SUBSCRIPTION_PARSE_FAILED, None      # Java: NullPointerException, no message
    return ResponseCode.SUCCESS, None
