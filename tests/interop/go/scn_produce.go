// How it works: scenario "produce".
//
//  1. One producer sends to a fresh topic (auto-created from TBW102 by the first send): sync singles with bodies
//     from 0 B to exactly 4 MiB, async singles, oneway singles. Keys, tags, flags and UTF-8 / long /
//     punctuation-heavy user properties vary per message. v2.0.0 never compresses bodies (it has no compression
//     code), so every body travels and is stored as is.
//  2. Refusals that Apache RocketMQ 4.9.4 makes must happen here too, and the refused messages must never be
//     delivered:
//     a. body of 4 MiB + 1 byte: 4.9.4 checks BODY length > maxMessageSize (4194304) => MESSAGE_ILLEGAL (13).
//     b. v2.0.0 batches (SEND_BATCH_MESSAGE 320): the client leaves V2 header fields c and d empty; 4.9.4
//     parses d with Integer.parseInt("") => SYSTEM_ERROR "java.lang.NumberFormatException: For input
//     string: \"\"" (client bug, rocketmq-client-go issue #683, fixed after v2.0.0). So Go v2.0.0 batch
//     sends never succeed against 4.9.4; the scenario asserts that they fail.
//  3. After all sends, one push consumer (new group, from the first offset) reads the topic; every message must
//     come back exactly once and unaltered, with the queue id / offset / UNIQ_KEY / offset msg id the send reported
//     and STOREHOST = the broker address from the route.
package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

var syncSizes = []int{0, 1, 2, 127, 1024, 4096 + 3, 64 << 10, 256<<10 + 1, 1 << 20, 4 << 20}

func produceSpec(kind string, i, size int) MsgSpec {
	id := fmt.Sprintf("%s-%d", kind, i)
	s := MsgSpec{ID: id, Size: size, Flag: int32(i*7 - 3),
		Props: map[string]string{"it_kind": kind, "it_n": fmt.Sprint(i)}}
	switch i % 4 {
	case 0:
		s.Tags = "TagA"
		s.Keys = []string{"key-" + id, "k2-" + id}
		s.Props["it_utf8"] = "héllo wörld ✓ 消息 🚀"
	case 1:
		s.Tags = "标签-" + kind
		s.Keys = []string{"only-" + id}
		s.Props["it_punct"] = `a=b:c d,e;f|g'h"i\j&k<l>m{n}o[p]`
	case 2:
		s.Props["it_long"] = strings.Repeat("0123456789abcdef", 128) // 2 KiB value
	case 3:
		s.Tags = "Tag With Space"
	}
	return s
}

func scnProduce(r *Run) {
	topic := r.Topic("t")
	l := NewLedger()
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	// 1. sync singles, every size
	for i, size := range syncSizes {
		m, e := Build(topic, produceSpec("sync", i, size))
		if _, err := r.SendSync(p, m, e, l); err != nil {
			r.Fail("sync send %s (%d bytes): %v", e.ID, size, err)
		}
	}
	// 2. async singles
	asyncSizes := []int{0, 10, 1000, 100 << 10, 1 << 20}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		m, e := Build(topic, produceSpec("async", i, asyncSizes[i%len(asyncSizes)]))
		e.BornMin = nowMs()
		l.Expect(copyExpect(e))
		wg.Add(1)
		err := p.SendAsync(context.Background(), func(ctx context.Context, res *primitive.SendResult, err error) {
			defer wg.Done()
			// v2.0.0 calls back with err == nil even when the broker answered an error code; then the result
			// has no MessageQueue.
			if err != nil || res == nil || res.MessageQueue == nil || res.Status != primitive.SendOK {
				r.Fail("async send %s: err=%v result=%v", e.ID, err, res)
				l.Forget(e.ID)
				return
			}
			e2 := copyExpect(e)
			e2.BornMax = nowMs()
			e2.QueueID, e2.QueueOffset = res.MessageQueue.QueueId, res.QueueOffset
			e2.MsgID, e2.OffsetMsgID = res.MsgID, res.OffsetMsgID
			l.Expect(e2)
			r.AddSent(1)
		}, m)
		if err != nil {
			wg.Done()
			l.Forget(e.ID)
			r.Fail("async send %s: %v", e.ID, err)
		}
	}
	if !waitGroup(&wg, r.Deadline) {
		r.Fail("async send callbacks did not all arrive")
		return
	}
	// 3. oneway singles (no result: queue and offset unknown)
	for i := 0; i < 20; i++ {
		m, e := Build(topic, produceSpec("oneway", i, 16*i))
		e.BornMin = nowMs()
		e.BornMax = e.BornMin + 10_000
		l.Expect(e)
		if err := p.SendOneWay(context.Background(), m); err != nil {
			l.Forget(e.ID)
			r.Fail("oneway send %s: %v", e.ID, err)
		} else {
			r.AddSent(1)
		}
	}
	// 4. batches: refused by 4.9.4 (see 2b above)
	for b := 0; b < 2; b++ {
		var ms []*primitive.Message
		var es []*Expect
		for i := 0; i < 10; i++ {
			m, e := Build(topic, produceSpec(fmt.Sprintf("batch%d", b), i, (b*10+i)*331))
			ms, es = append(ms, m), append(es, e)
		}
		if err := r.SendBatch(p, ms, es, l); err == nil {
			r.Fail("batch %d accepted, but Apache RocketMQ 4.9.4 refuses v2.0.0 batches (empty header field d)", b)
		} else {
			r.Logf("batch %d refused as 4.9.4 does: %v", b, err)
		}
	}
	// 5. oversize: body of 4 MiB + 1 must be refused
	big, be := Build(topic, MsgSpec{ID: "oversize", Size: 4<<20 + 1, Props: map[string]string{"it_kind": "oversize"}})
	be.Deliver = false
	l.Expect(be)
	if res, err := p.SendSync(context.Background(), big); err == nil {
		r.Fail("broker accepted a body of 4 MiB + 1 (> maxMessageSize): %v", res)
	} else {
		r.Logf("4 MiB + 1 body refused as expected: %v", err)
	}

	route, err := waitRoute(r.Namesrv, topic, r.Deadline)
	if err != nil {
		r.Fail("%v", err)
		return
	}
	want := l.DeliverKeys()
	r.Logf("sent %d messages, consuming", len(want))
	var badHost sync.Once
	_, err = r.NewPushConsumer("c", r.Group("c"), topic, "*", func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		l.Record(name, m)
		if m.StoreHost != route.MasterAddr { // STOREHOST must be the broker's reachable ip:listenPort
			badHost.Do(func() { r.Fail("storeHost %s, want broker address %s", m.StoreHost, route.MasterAddr) })
		}
		return consumer.ConsumeSuccess
	})
	if err != nil {
		r.Fail("push consumer: %v", err)
		return
	}
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every message consumed before the deadline")
	}
	time.Sleep(r.Grace)
	r.AddCounts("consumer", l.Summary(want))
}

// waitGroup waits for wg or the deadline; true if wg finished.
func waitGroup(wg *sync.WaitGroup, deadline time.Time) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(time.Until(deadline)):
		return false
	}
}
