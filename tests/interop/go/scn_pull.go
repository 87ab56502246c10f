// How it works: scenario "pull_offset".
//
// v2.0.0's public rocketmq.NewPullConsumer returns "pull consumer has not supported"; consumer.NewPullConsumer
// exists (marked experimental) and offers PullFrom(queue, offset, n), but no seek-by-time. It must share the
// producer's client instance: on its own it builds a client without a nameserver view whose heartbeat goroutine
// panics. Checks:
//  1. Every queue is read from offset 0 to its end in chunks of 4: offsets consecutive, nextBeginOffset / min /
//     max as 4.9.4 reports them, every message byte for byte what was sent there.
//  2. Seek by offset: PullFrom(k, 1) returns exactly the message sent at offset k.
//  3. Offset past the end (max + 5): PULL_OFFSET_MOVED (21) with nextBeginOffset = max (4.9.4
//     DefaultMessageStore: OFFSET_OVERFLOW_BADLY, nextOffsetCorrection(offset, maxOffset)).
//  4. GET_MAX_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP through the client's own (unexported) code, see lookup.go;
//     expected lookups follow 4.9.4 ConsumeQueue.getOffsetInQueueByTime: exact store-time hit, else the nearer
//     neighbour (tie -> earlier), before all -> first, after all -> last entry (max - 1).
//  5. Long polling: a pull at the end offset is held by the broker; a message sent to that queue while it is held
//     must answer it well before the 20 s suspend timeout.
package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

type pullCheck struct {
	r  *Run
	l  *Ledger
	pc interface {
		PullFrom(ctx context.Context, queue *primitive.MessageQueue, offset int64, numbers int) (*primitive.PullResult, error)
	}
	dc     interface{}
	sentAt map[int]map[int64]*Expect // queue -> offset -> message
}

func scnPullOffset(r *Run) {
	topic := r.Topic("t")
	l := NewLedger()
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	ck := &pullCheck{r: r, l: l, sentAt: map[int]map[int64]*Expect{}}
	brokerName := ""
	for i := 0; i < 24; i++ {
		m, e := Build(topic, smallSpec("pl", i))
		res, err := r.SendSync(p, m, e, l)
		if err != nil {
			r.Fail("send %s: %v", e.ID, err)
			return
		}
		brokerName = res.MessageQueue.BrokerName
		if ck.sentAt[e.QueueID] == nil {
			ck.sentAt[e.QueueID] = map[int64]*Expect{}
		}
		ck.sentAt[e.QueueID][e.QueueOffset] = e
		time.Sleep(3 * time.Millisecond) // distinct store times for the timestamp lookups
	}
	route, err := waitRoute(r.Namesrv, topic, r.Deadline)
	if err != nil {
		r.Fail("%v", err)
		return
	}
	pc, err := consumer.NewPullConsumer(consumer.WithNameServer([]string{r.Namesrv}),
		consumer.WithGroupName(r.Group("pull")), consumer.WithInstance(r.Instance("Pmain")))
	if err != nil {
		r.Fail("pull consumer: %v", err)
		return
	}
	if err := pc.Start(); err != nil {
		r.Fail("pull consumer start: %v", err)
		return
	}
	r.onClose(func() { _ = pc.Shutdown() })
	ck.pc, ck.dc = pc, pc
	for q := 0; q < route.WriteQueueNums; q++ {
		mq := &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: q}
		times := ck.readQueue(mq)
		ck.seekOffsets(mq)
		ck.pastEnd(mq)
		ck.lookups(mq, times)
	}
	ck.longPoll(topic, brokerName)
	r.AddCounts("pull", l.Summary(l.DeliverKeys()))
}

// readQueue pulls the queue from 0 to its end; returns the store timestamps by offset.
func (ck *pullCheck) readQueue(mq *primitive.MessageQueue) []int64 {
	count := int64(len(ck.sentAt[mq.QueueId]))
	var times []int64
	for off := int64(0); off < count; {
		res, err := ck.pc.PullFrom(context.Background(), mq, off, 4)
		if err != nil || res.Status != primitive.PullFound {
			ck.r.Fail("queue %d: PullFrom(%d) err=%v status=%v", mq.QueueId, off, err, statusOf(res))
			return times
		}
		msgs := res.GetMessageExts()
		want := count - off
		if want > 4 {
			want = 4
		}
		if int64(len(msgs)) != want || res.NextBeginOffset != off+want || res.MinOffset != 0 || res.MaxOffset != count {
			ck.r.Fail("queue %d: PullFrom(%d,4) got %d msgs next=%d min=%d max=%d, want %d next=%d min=0 max=%d",
				mq.QueueId, off, len(msgs), res.NextBeginOffset, res.MinOffset, res.MaxOffset, want, off+want, count)
		}
		for i, m := range msgs {
			if m.QueueOffset != off+int64(i) {
				ck.r.Fail("queue %d: message %d of pull at %d has offset %d", mq.QueueId, i, off, m.QueueOffset)
			}
			ck.l.Record("pull", m)
			times = append(times, m.StoreTimestamp)
		}
		if len(msgs) == 0 {
			return times
		}
		off += int64(len(msgs))
	}
	return times
}

func (ck *pullCheck) seekOffsets(mq *primitive.MessageQueue) {
	count := int64(len(ck.sentAt[mq.QueueId]))
	for _, k := range []int64{count - 1, count / 2, 1} {
		res, err := ck.pc.PullFrom(context.Background(), mq, k, 1)
		if err != nil || res.Status != primitive.PullFound || len(res.GetMessageExts()) != 1 {
			ck.r.Fail("queue %d: seek to %d: err=%v status=%v", mq.QueueId, k, err, statusOf(res))
			continue
		}
		m := res.GetMessageExts()[0]
		e := ck.sentAt[mq.QueueId][k]
		if m.QueueOffset != k || e == nil || m.GetProperty(idProp) != e.ID {
			ck.r.Fail("queue %d: seek to %d returned offset %d id %q", mq.QueueId, k, m.QueueOffset, m.GetProperty(idProp))
		} else if d := ck.l.Check(m); len(d) > 0 {
			ck.r.Fail("queue %d: seek to %d: %v", mq.QueueId, k, d)
		}
	}
}

func (ck *pullCheck) pastEnd(mq *primitive.MessageQueue) {
	count := int64(len(ck.sentAt[mq.QueueId]))
	res, err := ck.pc.PullFrom(context.Background(), mq, count+5, 1)
	if err != nil || res.Status != primitive.PullOffsetIllegal || res.NextBeginOffset != count {
		ck.r.Fail("queue %d: pull at max+5: err=%v status=%v next=%v, want OFFSET_MOVED next=%d",
			mq.QueueId, err, statusOf(res), nextOf(res), count)
	}
}

func (ck *pullCheck) lookups(mq *primitive.MessageQueue, times []int64) {
	dc := innerConsumer(ck.dc)
	count := int64(len(ck.sentAt[mq.QueueId]))
	if mx, err := clientQueryMaxOffset(dc, mq); err != nil || mx != count {
		ck.r.Fail("queue %d: GET_MAX_OFFSET = %d err=%v, want %d", mq.QueueId, mx, err, count)
	}
	if len(times) == 0 {
		return
	}
	cases := timestampCases(times)
	for _, ts := range cases {
		got, err := clientSearchOffsetByTimestamp(dc, mq, ts)
		want := expectedLookup(times, ts)
		if err != nil || !want[got] {
			ck.r.Fail("queue %d: SEARCH_OFFSET_BY_TIMESTAMP(%d) = %d err=%v, want one of %v (store times %v)",
				mq.QueueId, ts, got, err, keys(want), times)
		}
	}
	ck.r.Logf("queue %d: %d messages read, 3 seeks, %d time lookups checked", mq.QueueId, count, len(cases))
}

func timestampCases(times []int64) []int64 {
	last := times[len(times)-1]
	cases := []int64{0, times[0] - 1, last + 1, last + 3_600_000}
	cases = append(cases, times...)
	for i := 1; i < len(times); i++ {
		a, b := times[i-1], times[i]
		if b-a >= 2 {
			cases = append(cases, a+1, a+(b-a)/2, b-1)
		}
	}
	return cases
}

// expectedLookup: offsets 4.9.4 may answer for ts (see file comment, rule 4).
func expectedLookup(times []int64, ts int64) map[int64]bool {
	out := map[int64]bool{}
	for i, t := range times {
		if t == ts {
			out[int64(i)] = true
		}
	}
	if len(out) > 0 {
		return out
	}
	left := sort.Search(len(times), func(i int) bool { return times[i] > ts }) - 1 // last entry < ts
	right := left + 1                                                              // first entry > ts
	switch {
	case left < 0:
		out[int64(right)] = true
	case right >= len(times):
		out[int64(left)] = true
	case ts-times[left] > times[right]-ts:
		out[int64(right)] = true
	default:
		out[int64(left)] = true
	}
	return out
}

func (ck *pullCheck) longPoll(topic, brokerName string) {
	r := ck.r
	mq := &primitive.MessageQueue{Topic: topic, BrokerName: brokerName, QueueId: 0}
	end := int64(len(ck.sentAt[0]))
	type pulled struct {
		res *primitive.PullResult
		err error
		at  time.Time
	}
	ch := make(chan pulled, 1)
	go func() {
		res, err := ck.pc.PullFrom(context.Background(), mq, end, 1)
		ch <- pulled{res, err, time.Now()}
	}()
	select {
	case x := <-ch: // the broker must hold a pull at the end offset (suspend flag set, 20 s timeout)
		r.Fail("pull at end offset %d answered at once: err=%v status=%v", end, x.err, statusOf(x.res))
		return
	case <-time.After(time.Second):
	}
	pm, err := r.NewProducer("manual", producer.WithQueueSelector(producer.NewManualQueueSelector()))
	if err != nil {
		r.Fail("manual producer: %v", err)
		return
	}
	m, e := Build(topic, smallSpec("pl", 1000))
	m.Queue = mq
	sentAt := time.Now()
	if _, err := r.SendSync(pm, m, e, ck.l); err != nil {
		r.Fail("send to held queue: %v", err)
		return
	}
	select {
	case x := <-ch:
		msgs := []*primitive.MessageExt(nil)
		if x.res != nil {
			msgs = x.res.GetMessageExts()
		}
		if x.err != nil || x.res.Status != primitive.PullFound || len(msgs) != 1 || msgs[0].GetProperty(idProp) != e.ID {
			r.Fail("held pull answered err=%v status=%v msgs=%d", x.err, statusOf(x.res), len(msgs))
			return
		}
		ck.l.Record("pull", msgs[0])
		if wait := x.at.Sub(sentAt); wait > 5*time.Second {
			r.Fail("held pull answered %s after the message arrived (not woken by it)", wait)
		}
	case <-time.After(25 * time.Second):
		r.Fail("held pull never answered")
	}
}

func statusOf(res *primitive.PullResult) string {
	if res == nil {
		return "nil"
	}
	return []string{"FOUND", "NO_NEW_MSG", "NO_MATCHED_MSG", "OFFSET_ILLEGAL", "BROKER_TIMEOUT"}[res.Status]
}

func nextOf(res *primitive.PullResult) string {
	if res == nil {
		return "nil"
	}
	return strconv.FormatInt(res.NextBeginOffset, 10)
}

func keys(m map[int64]bool) string {
	var ks []int64
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return fmt.Sprint(ks)
}
