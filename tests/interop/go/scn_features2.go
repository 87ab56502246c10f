// How it works: more messaging-feature scenarios (tests/features/test_go_features.py), the Go counterparts of the
// Java ones in FeatureMessaging.delayRetry and FeatureConsume; facts go to RMQLITE_FEATURE_OUT.
//
//  1. feat_retry: a concurrent consumer (pull and consume batch 1: v2.0.0 sends back the whole pulled batch when a
//     callback fails) answers ConsumeRetryLater while reconsumeTimes < 2. The client sends back with delayLevel 0,
//     so the broker delays retry n (reconsumeTimes n-1 -> n) by level 3 + (n-1) of its messageDelayLevel
//     (RMQLITE_DELAY_LEVELS): every message arrives exactly with reconsumeTimes 0, 1, 2, and the gaps between its
//     deliveries are level 3 and level 4 (-50 ms .. + RMQLITE_DELAY_SLACK_MS + 400 ms, the Java window).
//     %RETRY%group gets its route first (warmUpRetryTopic), as in retry_dlq.
//  2. feat_broadcast_offsets: broadcasting consumers A and B (one group) each get batch 0 exactly once; A's offsets
//     reach its local file (v2.0.0: <localOffsetStoreDir>/<group>/<clientID>/offset.json — the client passes group
//     and clientID to NewLocalFileOffsetStore the other way round), A shuts down, batch 1 is sent, A restarts
//     with the same instance name (same clientID, same file) and gets exactly batch 1, B everything. The broker
//     holds no offset of the group: GET_ALL_CONSUMER_OFFSET (43) has no "topic@group" entry and
//     QUERY_CONSUMER_OFFSET (14) answers 22 or 0 (4.9.4's answer for a group without an offset on a queue whose
//     first message is still in memory) for every queue.
//     v2.0.0 keeps every client in a process-wide map by clientID forever, so the restart first drops the shut-down
//     client from it (forgetClient) — in a real application the restart is a new process.
//  3. feat_orderly_rebalance: orderly consumer A holds the 4 queues; 8 order ids (orderSelector: id % 4) get
//     steps 0..9; when A has consumed every order id, B joins and rounds go on (one a second) until the queues are
//     split 2 + 2, then 10 more rounds. v2.0.0 does not unlock the queues A gives up, so B locks them only when
//     A's broker lock expires (60 s after A's last LOCK_BATCH_MQ) at one of B's rebalances (every 20 s).
//     Checks: every message delivered; per consumer and order id the steps strictly increase; when an order id
//     changes hands the new owner starts at most one step past the highest step seen (a redelivery from the
//     committed offset is allowed — the old owner's in-flight message whose commit the drop discarded — a gap
//     is not). Only first deliveries go to the ledger; redeliveries are content-checked and counted. The number
//     of hand-overs (order ids that changed consumer) goes to RMQLITE_FEATURE_OUT and must be > 0.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// ---------------------------------------------------------------------------------------------- retry
func scnFeatRetry(r *Run) {
	table := delayTable()
	slack := envInt("RMQLITE_DELAY_SLACK_MS", 100)
	group := r.Group("r")
	l := NewLedger()
	l.perRetry, l.retryGroup = true, group
	p, topic, route, ok := r.featSetup(l, "fr")
	if !ok || !warmUpRetryTopic(r, p, group) {
		return
	}
	handler := func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		l.Record(name, m)
		if m.ReconsumeTimes < 2 {
			return consumer.ConsumeRetryLater // delay level 0: the broker uses 3 + reconsumeTimes
		}
		return consumer.ConsumeSuccess
	}
	c, err := r.NewPushConsumer("c", group, topic, "*", handler, consumer.WithMaxReconsumeTimes(5),
		consumer.WithPullBatchSize(1), consumer.WithConsumeMessageBatchMaxSize(1))
	if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
		r.Fail("consumer: %v", err)
		return
	}
	for i := 1; i <= 2; i++ {
		m, e := Build(topic, smallSpec("fr", i))
		if _, err := r.SendSync(p, m, e, l); err != nil {
			r.Fail("send: %v", err)
		}
	}
	var want []string
	ids := l.DeliverKeys()
	for _, id := range ids {
		for rt := 0; rt <= 2; rt++ {
			want = append(want, fmt.Sprintf("%s#%d", id, rt))
		}
	}
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every (message, reconsumeTimes 0..2) delivered")
	}
	time.Sleep(r.Grace) // a fourth delivery would show up here
	r.AddCounts("retries", l.Summary(want))
	checkReconsumeOrder(r, l)
	wantGaps := []int64{table[3-1], table[4-1]}
	at := map[string][]time.Time{}
	for _, d := range l.Deliveries() {
		at[d.ID] = append(at[d.ID], d.At)
	}
	var gaps []int64
	for _, id := range ids {
		for k := 0; k+1 < len(at[id]) && k < 2; k++ {
			gap := at[id][k+1].Sub(at[id][k]).Milliseconds()
			gaps = append(gaps, gap)
			if gap < wantGaps[k]-50 || gap > wantGaps[k]+slack+400 {
				r.Fail("retry %d of %s came after %d ms, level %d is %d ms", k+1, id, gap, 3+k, wantGaps[k])
			}
		}
	}
	writeFeatureOut(r, map[string]interface{}{"gapsMs": gaps, "expectedGapsMs": wantGaps})
}

// ---------------------------------------------------------------------------------------------- broadcasting
func scnFeatBroadcastOffsets(r *Run) {
	topic, group := r.Topic("t"), r.Group("b")
	la, lb, la2 := NewLedger(), NewLedger(), NewLedger()
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	m0, e0 := Build(topic, smallSpec("bo", 0))
	route, ok := r.createTopic(p, topic, m0, e0, la, lb)
	if !ok {
		return
	}
	bcast := func(name string, l *Ledger) PushConsumer {
		c, err := r.NewPushConsumer(name, group, topic, "*", recorder(l), consumer.WithConsumerModel(consumer.BroadCasting))
		if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
			r.Fail("broadcasting consumer %s: %v", name, err)
			return nil
		}
		return c
	}
	a, b := bcast("A", la), bcast("B", lb)
	if a == nil || b == nil {
		return
	}
	sendBatch := func(from, to int, ls ...*Ledger) {
		for i := from; i < to; i++ {
			m, e := Build(topic, smallSpec("bo", i))
			if _, err := r.SendSync(p, m, e, ls...); err != nil {
				r.Fail("send %s: %v", e.ID, err)
			}
		}
	}
	sendBatch(1, 6, la, lb)
	first := la.DeliverKeys()
	if !la.WaitFor(r.Deadline, func() bool { return la.Has(first) && lb.Has(first) }) {
		r.Fail("batch 0 not consumed by both broadcasting consumers")
		return
	}
	next := nextOffsets(la, first)
	var file string
	saved := la.WaitFor(r.Deadline, func() bool {
		_ = a.PersistConsumerOffset()
		file = localOffsetFile(group, r.Instance("CA"))
		got, err := readLocalOffsets(file, topic)
		return err == nil && coversOffsets(got, next)
	})
	if !saved {
		r.Fail("A's local offset file %q never reached %v", file, next)
		return
	}
	_ = a.Shutdown()
	forgetClient(r.Instance("CA"))
	for _, id := range first { // batch 0 must not come again to the restarted A
		f := copyExpect(la.Get(id))
		f.Deliver = false
		la2.Expect(f)
	}
	sendBatch(6, 11, lb, la2)
	a2 := bcast("A", la2)
	if a2 == nil {
		return
	}
	second, all := la2.DeliverKeys(), lb.DeliverKeys()
	if !la2.WaitFor(r.Deadline, func() bool { return la2.Has(second) && lb.Has(all) }) {
		r.Fail("restarted A did not get batch 1, or B not everything")
	}
	time.Sleep(r.Grace)
	r.AddCounts("A", la.Summary(first))
	r.AddCounts("B", lb.Summary(all))
	r.AddCounts("A restarted", la2.Summary(second))
	brokerOffsets := checkNoBrokerOffsets(r, route, group, topic)
	writeFeatureOut(r, map[string]interface{}{"localOffsetFile": file, "savedOffsets": next,
		"brokerOffsets": brokerOffsets})
}

// nextOffsets: queue id -> one past the highest queue offset of the given messages.
func nextOffsets(l *Ledger, ids []string) map[int]int64 {
	out := map[int]int64{}
	for _, id := range ids {
		if e := l.Get(id); e != nil && e.QueueOffset+1 > out[e.QueueID] {
			out[e.QueueID] = e.QueueOffset + 1
		}
	}
	return out
}

func coversOffsets(got, want map[int]int64) bool {
	for q, off := range want {
		if got[q] < off {
			return false
		}
	}
	return true
}

// localOffsetFile finds v2.0.0's offset.json of one consumer instance of group (layout: see the file comment).
func localOffsetFile(group, instance string) string {
	dir := os.Getenv("rocketmq.client.localOffsetStoreDir")
	matches, _ := filepath.Glob(filepath.Join(dir, group, "*@"+instance, "offset.json"))
	if len(matches) == 1 {
		return matches[0]
	}
	return ""
}

// readLocalOffsets parses an offset.json ({"offsetTable":{"{\"topic\":..,\"queueId\":..}":offset}}) for one topic.
func readLocalOffsets(path, topic string) (map[int]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var w struct {
		OffsetTable map[string]int64 `json:"offsetTable"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for k, off := range w.OffsetTable {
		var mq struct {
			Topic   string `json:"topic"`
			QueueID int    `json:"queueId"`
		}
		if err := json.Unmarshal([]byte(k), &mq); err != nil {
			return nil, fmt.Errorf("offset.json key %q: %v", k, err)
		}
		if mq.Topic == topic {
			out[mq.QueueID] = off
		}
	}
	return out, nil
}

// checkNoBrokerOffsets fails unless the broker keeps nothing for group on topic; returns what it answered.
func checkNoBrokerOffsets(r *Run, route Route, group, topic string) map[string]interface{} {
	seen := map[string]interface{}{}
	body, err := allConsumerOffsets(route.MasterAddr)
	if err != nil {
		r.Fail("GET_ALL_CONSUMER_OFFSET: %v", err)
	} else if strings.Contains(body, topic+"@"+group) {
		r.Fail("the broker stores offsets of broadcasting group %s: %s", group, trunc(body))
	}
	for q := 0; q < route.WriteQueueNums; q++ {
		off, err := queryConsumerOffset(route.MasterAddr, group, topic, q)
		seen[strconv.Itoa(q)] = off
		if err != nil || off > 0 {
			r.Fail("QUERY_CONSUMER_OFFSET %s queue %d: offset %d, error %v (want none)", group, q, off, err)
		}
	}
	return seen
}

// ---------------------------------------------------------------------------------------------- orderly
type orderlyDelivery struct {
	consumer  string
	key, step int
	queue     int
	offset    int64
}

func scnFeatOrderlyRebalance(r *Run) {
	const keys = 8
	topic, group := r.Topic("t"), r.Group("o")
	l := NewLedger()
	p, err := r.NewProducer("main", producer.WithQueueSelector(orderSelector{}))
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	var route Route
	step := 0
	sendRound := func() bool {
		for k := 0; k < keys; k++ {
			s := smallSpec("ro", step*keys+k)
			s.Props["it_order"], s.Props["it_step"] = strconv.Itoa(k), strconv.Itoa(step)
			m, e := Build(topic, s)
			if step == 0 && k == 0 {
				rt, ok := r.createTopic(p, topic, m, e, l)
				if !ok {
					return false
				}
				route = rt
			} else if _, err := r.SendSync(p, m, e, l); err != nil {
				r.Fail("send %s: %v", e.ID, err)
				return false
			}
		}
		step++
		return true
	}
	var mu sync.Mutex
	var log []orderlyDelivery
	firstSeen := map[string]bool{}
	redelivered := 0
	handler := func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		key, _ := strconv.Atoi(m.GetProperty("it_order"))
		st, _ := strconv.Atoi(m.GetProperty("it_step"))
		id := m.GetProperty(idProp)
		mu.Lock()
		log = append(log, orderlyDelivery{name, key, st, m.Queue.QueueId, m.QueueOffset})
		again := firstSeen[id]
		firstSeen[id] = true
		if again {
			redelivered++
		}
		mu.Unlock()
		if !again {
			l.Record(name, m)
		} else if diffs := l.Check(m); len(diffs) > 0 {
			r.Fail("redelivery of %s altered: %v", id, diffs)
		}
		time.Sleep(3 * time.Millisecond)
		return consumer.ConsumeSuccess
	}
	orderly := func(name string) PushConsumer {
		c, err := r.NewPushConsumer(name, group, topic, "*", handler,
			consumer.WithConsumerOrder(true), consumer.WithConsumeMessageBatchMaxSize(1))
		if err != nil {
			r.Fail("orderly consumer %s: %v", name, err)
			return nil
		}
		return c
	}
	if !sendRound() {
		return
	}
	a := orderly("A")
	if a == nil || !r.waitAssigned(a, topic, route.WriteQueueNums) {
		return
	}
	for step < 10 {
		if !sendRound() {
			return
		}
	}
	everyKey := l.WaitFor(r.Deadline, func() bool {
		mu.Lock()
		defer mu.Unlock()
		ks := map[int]bool{}
		for _, d := range log {
			ks[d.key] = true
		}
		return len(ks) == keys
	})
	if !everyKey {
		r.Fail("A did not consume every order id before B joined")
		return
	}
	b := orderly("B")
	if b == nil {
		return
	}
	split := func() bool {
		return len(assignedQueues(a, topic)) == route.WriteQueueNums/2 && len(assignedQueues(b, topic)) == route.WriteQueueNums/2
	}
	joined := time.Now()
	for !split() { // keep the orders flowing while B waits for A's broker locks to expire
		if time.Now().After(r.Deadline) {
			r.Fail("queues never split: A %v, B %v", assignedQueues(a, topic), assignedQueues(b, topic))
			return
		}
		if !sendRound() {
			return
		}
		time.Sleep(time.Second)
	}
	splitAfter := time.Since(joined).Seconds()
	r.Logf("split %.1f s after B joined: A %v B %v", splitAfter, assignedQueues(a, topic), assignedQueues(b, topic))
	for end := step + 10; step < end; {
		if !sendRound() {
			return
		}
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every message consumed before the deadline")
	}
	time.Sleep(r.Grace)
	r.AddCounts("orderly group", l.Summary(want))
	mu.Lock()
	snapshot := append([]orderlyDelivery(nil), log...)
	mu.Unlock()
	handovers, queueMoves := checkOrderlyLog(r, snapshot)
	byB := 0
	for _, d := range snapshot {
		if d.consumer == "B" {
			byB++
		}
	}
	notes := map[string]interface{}{"handovers": handovers, "queueHandovers": queueMoves, "deliveries": len(snapshot),
		"deliveredByB": byB, "redeliveredAfterHandover": redelivered, "rounds": step,
		"queuesA": sortedInts(assignedQueues(a, topic)), "queuesB": sortedInts(assignedQueues(b, topic)),
		"splitAfterS": splitAfter}
	writeFeatureOut(r, notes)
	r.Logf("orderly rebalance: %v", notes)
	if handovers == 0 {
		r.Fail("no order id moved from A to B: the rebalance handed no queue over")
	}
}

// checkOrderlyLog applies the per-owner order and hand-over rules (file comment, rule 3) to the delivery log and
// returns the number of order ids and of queues that changed consumer.
func checkOrderlyLog(r *Run, log []orderlyDelivery) (int, int) {
	type ownerKey struct {
		consumer string
		key      int
	}
	last := map[ownerKey]int{}
	lastOffset := map[string]int64{}
	maxSeen := map[int]int{}
	owner := map[int]string{}
	queueOwner := map[int]string{}
	handovers, queueMoves := 0, 0
	for _, d := range log {
		ok := ownerKey{d.consumer, d.key}
		prev, had := owner[d.key]
		owner[d.key] = d.consumer
		if had && prev != d.consumer {
			handovers++
			top, seen := maxSeen[d.key]
			if !seen {
				top = -1
			}
			if d.step > top+1 {
				r.Fail("order %d: %s took over at step %d after %s stopped at %d", d.key, d.consumer, d.step, prev, top)
			}
			delete(last, ok)
		}
		if prevQ, had := queueOwner[d.queue]; had && prevQ != d.consumer {
			queueMoves++
			delete(lastOffset, fmt.Sprintf("%s/%d", d.consumer, d.queue))
		}
		queueOwner[d.queue] = d.consumer
		if s, had := last[ok]; had && d.step <= s {
			r.Fail("order %d out of order at %s: step %d after %d", d.key, d.consumer, d.step, s)
		}
		last[ok] = d.step
		qk := fmt.Sprintf("%s/%d", d.consumer, d.queue)
		if o, had := lastOffset[qk]; had && d.offset <= o {
			r.Fail("queue %d at %s: offset %d after %d", d.queue, d.consumer, d.offset, o)
		}
		lastOffset[qk] = d.offset
		if s, had := maxSeen[d.key]; !had || d.step > s {
			maxSeen[d.key] = d.step
		}
	}
	return handovers, queueMoves
}

func sortedInts(xs []int) []int {
	sort.Ints(xs)
	return xs
}
