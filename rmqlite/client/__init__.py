"""A small asyncio RocketMQ client on rmqlite's remoting layer.

It speaks the protocol the way the Java client does (SEND_MESSAGE_V2, PULL_MESSAGE,
admin requests) and works against rmqlite or any Apache RocketMQ 4.x. It backs the
admin command, the load tool and the integration tests; it is not a full consumer
framework (no rebalancing).
"""

from rmqlite.client.api import BrokerRef, Client, PullResult, SendResult, TopicRoute

__all__ = ["BrokerRef", "Client", "PullResult", "SendResult", "TopicRoute"]
