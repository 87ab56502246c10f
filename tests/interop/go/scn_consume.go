// How it works: consumer scenarios "clustering", "broadcasting", "tag_filter", "orderly".
//
//  1. Push consumers need the topic route at Start(), and v2.0.0 has no admin API, so the first message of each
//     scenario creates the topic (broker autoCreateTopicEnable) and the harness waits for the route.
//  2. clustering: consumer A alone takes that first message; its offset is committed and confirmed with
//     QUERY_CONSUMER_OFFSET before B starts, so the rebalance cannot legitimately redeliver it. Once A and B hold
//     disjoint halves of the queues, the bulk is sent: every message exactly once across A and B, both busy.
//  3. broadcasting: two consumers of one group in BROADCASTING mode each must get every message exactly once.
//  4. tag_filter: tags TagA, TagB, TagC, none, TagA2, tagA; subscription "TagA || TagB" must get exactly the
//     TagA and TagB messages (v2.0.0 does not re-check tags on the client, so this tests the broker's filter).
//     Half is sent before the consumer starts (backlog), half after (long-poll wake-up).
//  5. orderly: order ids are mapped to queues by a selector; an orderly consumer (LOCK_BATCH_MQ) must see each
//     order's steps in send order and each queue's offsets strictly increasing; half backlog, half live.
package main

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

func smallSpec(kind string, i int) MsgSpec {
	return MsgSpec{ID: fmt.Sprintf("%s-%d", kind, i), Size: 64 + (i*37)%2000, Tags: "T" + kind,
		Keys: []string{fmt.Sprintf("%s-key-%d", kind, i)}, Flag: int32(i),
		Props: map[string]string{"it_kind": kind, "it_n": strconv.Itoa(i)}}
}

// createTopic sends the scenario's first message (creating the topic) and waits for its route.
func (r *Run) createTopic(p rocketmq.Producer, topic string, m *primitive.Message, e *Expect, ls ...*Ledger) (Route, bool) {
	if _, err := r.SendSync(p, m, e, ls...); err != nil {
		r.Fail("first send (creates topic %s): %v", topic, err)
		return Route{}, false
	}
	route, err := waitRoute(r.Namesrv, topic, r.Deadline)
	if err != nil {
		r.Fail("%v", err)
		return route, false
	}
	return route, true
}

func recorder(l *Ledger) Handler {
	return func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		l.Record(name, m)
		return consumer.ConsumeSuccess
	}
}

func scnClustering(r *Run) {
	topic, group := r.Topic("t"), r.Group("c")
	l := NewLedger()
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	m0, e0 := Build(topic, smallSpec("cl", 0))
	route, ok := r.createTopic(p, topic, m0, e0, l)
	if !ok {
		return
	}
	a, err := r.NewPushConsumer("A", group, topic, "*", recorder(l))
	if err != nil {
		r.Fail("consumer A: %v", err)
		return
	}
	if !l.WaitFor(r.Deadline, func() bool { return l.Has([]string{e0.ID}) }) {
		r.Fail("consumer A did not get the first message")
		return
	}
	// commit A's offset for the first message and see the broker has it
	committed := l.WaitFor(r.Deadline, func() bool {
		_ = a.PersistConsumerOffset()
		off, err := queryConsumerOffset(route.MasterAddr, group, topic, e0.QueueID)
		return err == nil && off == e0.QueueOffset+1
	})
	if !committed {
		r.Fail("offset %d of queue %d never committed for group %s", e0.QueueOffset+1, e0.QueueID, group)
		return
	}
	b, err := r.NewPushConsumer("B", group, topic, "*", recorder(l))
	if err != nil {
		r.Fail("consumer B: %v", err)
		return
	}
	n := route.WriteQueueNums
	balanced := l.WaitFor(r.Deadline, func() bool {
		qa, qb := assignedQueues(a, topic), assignedQueues(b, topic)
		seen := map[int]bool{}
		for _, q := range append(qa, qb...) {
			seen[q] = true
		}
		return len(qa) > 0 && len(qb) > 0 && len(qa)+len(qb) == n && len(seen) == n
	})
	if !balanced {
		r.Fail("queues never split between A %v and B %v (%d queues)", assignedQueues(a, topic), assignedQueues(b, topic), n)
		return
	}
	r.Logf("balanced: A %v B %v", assignedQueues(a, topic), assignedQueues(b, topic))
	for i := 1; i <= 40; i++ {
		m, e := Build(topic, smallSpec("cl", i))
		if _, err := r.SendSync(p, m, e, l); err != nil {
			r.Fail("send %s: %v", e.ID, err)
		}
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every message consumed before the deadline")
	}
	time.Sleep(r.Grace)
	byConsumer := map[string]int{}
	for _, d := range l.Deliveries() {
		byConsumer[d.Consumer]++
	}
	if byConsumer["A"] == 0 || byConsumer["B"] == 0 {
		r.Fail("load not shared: deliveries per consumer %v", byConsumer)
	}
	r.AddCounts("group", l.Summary(want))
}

func scnBroadcasting(r *Run) {
	topic, group := r.Topic("t"), r.Group("b")
	la, lb := NewLedger(), NewLedger()
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	m0, e0 := Build(topic, smallSpec("bc", 0))
	if _, ok := r.createTopic(p, topic, m0, e0, la, lb); !ok {
		return
	}
	for name, l := range map[string]*Ledger{"A": la, "B": lb} {
		if _, err := r.NewPushConsumer(name, group, topic, "*", recorder(l),
			consumer.WithConsumerModel(consumer.BroadCasting)); err != nil {
			r.Fail("consumer %s: %v", name, err)
			return
		}
	}
	for i := 1; i <= 30; i++ {
		m, e := Build(topic, smallSpec("bc", i))
		if _, err := r.SendSync(p, m, e, la, lb); err != nil {
			r.Fail("send %s: %v", e.ID, err)
		}
	}
	want := la.DeliverKeys()
	for name, l := range map[string]*Ledger{"A": la, "B": lb} {
		if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
			r.Fail("consumer %s did not get every message before the deadline", name)
		}
	}
	time.Sleep(r.Grace)
	r.AddCounts("A", la.Summary(want))
	r.AddCounts("B", lb.Summary(want))
}

var filterTags = []string{"TagA", "TagB", "TagC", "", "TagA2", "tagA"}

func scnTagFilter(r *Run) {
	topic := r.Topic("t")
	l := NewLedger()
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	send := func(i int) {
		s := smallSpec("tf", i)
		s.Tags = filterTags[i%len(filterTags)]
		m, e := Build(topic, s)
		e.Deliver = s.Tags == "TagA" || s.Tags == "TagB"
		if i == 0 {
			r.createTopic(p, topic, m, e, l)
			return
		}
		if _, err := r.SendSync(p, m, e, l); err != nil {
			r.Fail("send %s: %v", e.ID, err)
		}
	}
	for i := 0; i < 30; i++ {
		send(i)
	}
	if _, err := r.NewPushConsumer("c", r.Group("f"), topic, "TagA || TagB", recorder(l)); err != nil {
		r.Fail("consumer: %v", err)
		return
	}
	for i := 30; i < 60; i++ {
		send(i)
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every TagA/TagB message consumed before the deadline")
	}
	time.Sleep(r.Grace)
	r.AddCounts("filtered consumer", l.Summary(want))
}

// orderSelector puts every message of one order id (property it_order) on the same queue.
type orderSelector struct{}

func (orderSelector) Select(m *primitive.Message, mqs []*primitive.MessageQueue) *primitive.MessageQueue {
	id, _ := strconv.Atoi(m.GetProperty("it_order"))
	sorted := append([]*primitive.MessageQueue(nil), mqs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].QueueId < sorted[j].QueueId })
	return sorted[id%len(sorted)]
}

func scnOrderly(r *Run) {
	const orders, steps = 6, 12
	topic := r.Topic("t")
	l := NewLedger()
	p, err := r.NewProducer("main", producer.WithQueueSelector(orderSelector{}))
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	var mu sync.Mutex
	seqs := map[int][]int{}           // order id -> steps in delivery order
	queueOf := map[int]map[int]bool{} // order id -> queues seen
	offsets := map[int][]int64{}      // queue id -> offsets in delivery order
	handler := func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		l.Record(name, m)
		oid, _ := strconv.Atoi(m.GetProperty("it_order"))
		step, _ := strconv.Atoi(m.GetProperty("it_step"))
		mu.Lock()
		seqs[oid] = append(seqs[oid], step)
		if queueOf[oid] == nil {
			queueOf[oid] = map[int]bool{}
		}
		queueOf[oid][m.Queue.QueueId] = true
		offsets[m.Queue.QueueId] = append(offsets[m.Queue.QueueId], m.QueueOffset)
		mu.Unlock()
		return consumer.ConsumeSuccess
	}
	sentQueue := map[int]int{}
	send := func(step, oid int) bool {
		s := smallSpec("or", step*orders+oid)
		s.Props["it_order"], s.Props["it_step"] = strconv.Itoa(oid), strconv.Itoa(step)
		m, e := Build(topic, s)
		var err error
		if step == 0 && oid == 0 {
			_, ok := r.createTopic(p, topic, m, e, l)
			if !ok {
				return false
			}
		} else if _, err = r.SendSync(p, m, e, l); err != nil {
			r.Fail("send %s: %v", e.ID, err)
			return false
		}
		got := l.Get(e.ID)
		if q, ok := sentQueue[oid]; ok && got != nil && q != got.QueueID {
			r.Fail("order %d sent to queues %d and %d (selector)", oid, q, got.QueueID)
		} else if got != nil {
			sentQueue[oid] = got.QueueID
		}
		return true
	}
	for step := 0; step < steps; step++ {
		if step == steps/2 {
			if _, err := r.NewPushConsumer("c", r.Group("o"), topic, "*", handler,
				consumer.WithConsumerOrder(true), consumer.WithConsumeMessageBatchMaxSize(1)); err != nil {
				r.Fail("orderly consumer: %v", err)
				return
			}
		}
		for oid := 0; oid < orders; oid++ {
			if !send(step, oid) {
				return
			}
		}
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every message consumed before the deadline")
	}
	time.Sleep(r.Grace)
	r.AddCounts("orderly consumer", l.Summary(want))
	mu.Lock()
	defer mu.Unlock()
	for oid := 0; oid < orders; oid++ {
		for i, s := range seqs[oid] {
			if s != i {
				r.Fail("order %d: steps delivered as %v, want 0..%d in order", oid, seqs[oid], steps-1)
				break
			}
		}
		if len(queueOf[oid]) != 1 || !queueOf[oid][sentQueue[oid]] {
			r.Fail("order %d delivered from queues %v, sent to %d", oid, queueOf[oid], sentQueue[oid])
		}
	}
	for q, offs := range offsets {
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				r.Fail("queue %d: offsets delivered out of order: %v", q, offs)
				break
			}
		}
	}
}
