// How it works: rocketmq-client-go v2.0.0 speaks SEARCH_OFFSET_BY_TIMESTAMP (29) and GET_MAX_OFFSET (30) only
// inside its push consumer's "where do I start" logic, and only when the broker has no offset for the group
// (QUERY_CONSUMER_OFFSET answers 22). A 4.9.4 broker answers offset 0 for a new group on a fresh topic, so that
// path can never be reached in a test. To still exercise the client's own request and response code for these
// two commands, the unexported methods are called through //go:linkname (allowed for non-std symbols; needs the
// empty lookup.s so the compiler accepts the body-less declarations).
//
//  1. The receiver is the *defaultConsumer embedded in the pull consumer, taken with reflect.
//  2. The methods need the consumer's nameserver view to know the broker: call PullFrom once first.
//  3. The client cache internal.clientMap is reached the same way (forgetClient, feat_broadcast_offsets' restart).
package main

import (
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

//go:linkname clientSearchOffsetByTimestamp github.com/apache/rocketmq-client-go/v2/consumer.(*defaultConsumer).searchOffsetByTimestamp
func clientSearchOffsetByTimestamp(dc unsafe.Pointer, mq *primitive.MessageQueue, timestamp int64) (int64, error)

//go:linkname clientQueryMaxOffset github.com/apache/rocketmq-client-go/v2/consumer.(*defaultConsumer).queryMaxOffset
func clientQueryMaxOffset(dc unsafe.Pointer, mq *primitive.MessageQueue) (int64, error)

// innerConsumer returns the *consumer.defaultConsumer embedded in a pull or push consumer value.
func innerConsumer(c interface{}) unsafe.Pointer {
	return unsafe.Pointer(reflect.ValueOf(c).Elem().FieldByName("defaultConsumer").Pointer())
}

// goClientMap is v2.0.0's process-wide client cache (internal.clientMap: clientID -> *rmqClient, never emptied).
//
//go:linkname goClientMap github.com/apache/rocketmq-client-go/v2/internal.clientMap
var goClientMap sync.Map

// forgetClient drops the (shut-down) clients of one instance name from v2.0.0's cache, so that a consumer started
// again with that instance name gets a fresh client with the same clientID (IP@instance), as a restarted process
// would.
func forgetClient(instance string) {
	goClientMap.Range(func(k, _ interface{}) bool {
		if id, ok := k.(string); ok && strings.HasSuffix(id, "@"+instance) {
			goClientMap.Delete(k)
		}
		return true
	})
}
