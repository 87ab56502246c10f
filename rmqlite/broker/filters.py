"""Subscriptions and TAG filtering (RocketMQ ``FilterAPI`` + ``ExpressionMessageFilter``).

How it works:
1. A TAG expression ``*`` / empty / None subscribes to all; otherwise ``a || b`` is split on
   ``||``, trimmed, blanks dropped; ``codeSet`` = Java ``String.hashCode`` of each tag.
2. Consume-queue matching: no subscription, classFilterMode, or subString ``*`` => match;
   otherwise the CQ tagsCode (as a signed 32-bit int, Java ``Long.intValue``) must be in codeSet.
   Clients re-check the real tag string, hash collisions are their business.
3. ``SubscriptionData.from_json`` accepts Java, Go (codeSet as strings) and C++ (subVersion as
   a string, missing fields) shapes; ``to_json`` writes Java's alphabetical bean form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from rmqlite.common.message import java_string_hash

__all__ = ["SubscriptionData", "build_subscription", "java_string_hash", "tag_filter", "SUB_ALL",
           "SubscriptionParseError"]

SUB_ALL = "*"
EXPRESSION_TAG = "TAG"


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

    @property
    def is_tag_type(self) -> bool:
        return (self.expressionType or EXPRESSION_TAG).upper() == EXPRESSION_TAG

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
    expr = (expression_type or EXPRESSION_TAG)
    data = SubscriptionData(topic=topic, subVersion=sub_version, expressionType=expr)
    if expr.upper() != EXPRESSION_TAG:
        data.subString = sub_string or ""
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
