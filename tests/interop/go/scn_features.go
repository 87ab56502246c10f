// How it works: messaging-feature scenarios (tests/features/test_go_features.py), listed by --list-features and never
// run by "all".
//
//  1. feat_delay: WithDelayTimeLevel 1..4; every delayed message arrives exactly once, never before born + delay,
//     and (broker clock: the delivered record's store timestamp) at most RMQLITE_DELAY_SLACK_MS after due. The level
//     table comes from RMQLITE_DELAY_LEVELS (the test broker's messageDelayLevel).
//  2. feat_transaction: the transaction producer commits, rolls back, or answers unknown and decides at the broker's
//     check-back; only committed messages arrive, exactly once.
//  3. feat_sql92: push consumers with SQL92 selectors receive exactly the selected messages; one with an expression
//     the broker cannot compile receives nothing (v2.0.0 does not ask CHECK_CLIENT_CONFIG; the broker refuses its
//     pulls).
//  4. feat_trace: producer and consumer with WithTrace; the msgIds go to RMQLITE_FEATURE_OUT and the pytest looks
//     the traces up in RMQ_SYS_TRACE_TOPIC by key.
//  5. feat_acl: WithCredentials clients of account rmqlite_user work; wrong secret, unsigned and denied-topic sends
//     fail with the broker's remark, written to RMQLITE_FEATURE_OUT.
//  6. feat_retry, feat_broadcast_offsets, feat_orderly_rebalance: see scn_features2.go.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

var featureScenarios = []Scenario{
	{"feat_delay", 90 * time.Second, "delay levels: on time, exactly once", scnFeatDelay},
	{"feat_transaction", 90 * time.Second, "transaction producer: commit, rollback, check-back", scnFeatTransaction},
	{"feat_sql92", 90 * time.Second, "SQL92 selectors; a bad expression gets nothing", scnFeatSQL92},
	{"feat_trace", 90 * time.Second, "message trace written (msgIds to RMQLITE_FEATURE_OUT)", scnFeatTrace},
	{"feat_acl", 90 * time.Second, "ACL credentials, refusals (remarks to RMQLITE_FEATURE_OUT)", scnFeatACL},
	{"feat_retry", 90 * time.Second, "failed consumption retried after delay levels 3, 4 (scn_features2.go)", scnFeatRetry},
	{"feat_broadcast_offsets", 90 * time.Second, "broadcasting: offsets in the client's file, resume after restart",
		scnFeatBroadcastOffsets},
	{"feat_orderly_rebalance", 240 * time.Second, "orderly order held while queues move to a second consumer",
		scnFeatOrderlyRebalance},
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(strings.TrimSpace(os.Getenv(name)), 10, 64); err == nil {
		return v
	}
	return def
}

func delayTable() []int64 {
	spec := os.Getenv("RMQLITE_DELAY_LEVELS")
	if spec == "" {
		spec = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
	}
	var out []int64
	for _, w := range strings.Fields(spec) {
		n, _ := strconv.ParseInt(w[:len(w)-1], 10, 64)
		unit := map[byte]int64{'s': 1000, 'm': 60000, 'h': 3600000, 'd': 86400000}[w[len(w)-1]]
		out = append(out, n*unit)
	}
	return out
}

func writeFeatureOut(r *Run, v interface{}) {
	path := os.Getenv("RMQLITE_FEATURE_OUT")
	if path == "" {
		return
	}
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		r.Fail("writing %s: %v", path, err)
	}
}

// newConsumer is NewPushConsumer with any selector.
func (r *Run) newConsumer(name, group, topic string, sel consumer.MessageSelector, h Handler,
	opts ...consumer.Option) (PushConsumer, error) {
	base := []consumer.Option{
		consumer.WithNameServer([]string{r.Namesrv}),
		consumer.WithGroupName(group),
		consumer.WithInstance(r.Instance("C" + name)),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}
	c, err := consumer.NewPushConsumer(append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	err = c.Subscribe(topic, sel, func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			h(name, m)
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	r.onClose(func() { _ = c.Shutdown() })
	return c, nil
}

func (r *Run) waitAssigned(c PushConsumer, topic string, n int) bool {
	deadline := r.Deadline
	for time.Now().Before(deadline) {
		if len(assignedQueues(c, topic)) == n {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Fail("consumer never held %d queues of %s", n, topic)
	return false
}

// setup: producer, topic created by its first message (expected by l), route.
func (r *Run) featSetup(l *Ledger, kind string, opts ...producer.Option) (rocketmq.Producer, string, Route, bool) {
	topic := r.Topic("t")
	p, err := r.NewProducer(kind, opts...)
	if err != nil {
		r.Fail("producer: %v", err)
		return nil, "", Route{}, false
	}
	m0, e0 := Build(topic, smallSpec(kind, 0))
	route, ok := r.createTopic(p, topic, m0, e0, l)
	return p, topic, route, ok
}

// ---------------------------------------------------------------------------------------------- delay
func scnFeatDelay(r *Run) {
	table := delayTable()
	slack := envInt("RMQLITE_DELAY_SLACK_MS", 100)
	l := NewLedger()
	p, topic, route, ok := r.featSetup(l, "dl")
	if !ok {
		return
	}
	var got sync.Map
	c, err := r.NewPushConsumer("c", r.Group("d"), topic, "*", func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		got.LoadOrStore(m.GetProperty(idProp), m)
		l.Record(name, m)
		return consumer.ConsumeSuccess
	})
	if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
		r.Fail("consumer: %v", err)
		return
	}
	type window struct{ t0, t1, delay int64 }
	windows := map[string]window{}
	for i, lv := range []int{1, 2, 3, 1, 2, 4, 18} {
		m, e := Build(topic, smallSpec("dl", i+1))
		m.WithDelayTimeLevel(lv)
		t0 := nowMs()
		if _, err := r.SendSync(p, m, e); err != nil {
			r.Fail("send: %v", err)
			continue
		}
		t1 := nowMs()
		e.QueueOffset, e.OffsetMsgID = -1, "" // delivered from SCHEDULE_TOPIC_XXXX: new offsets
		l.Expect(copyExpect(e))
		windows[e.ID] = window{t0, t1, table[min(lv, len(table))-1]}
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every delayed message delivered")
	}
	time.Sleep(r.Grace)
	for id, w := range windows {
		v, found := got.Load(id)
		if !found {
			continue
		}
		at := v.(*primitive.MessageExt).StoreTimestamp
		if at < w.t0+w.delay-5 {
			r.Fail("%s delivered %d ms early", id, w.t0+w.delay-at)
		}
		if late := at - (w.t1 + w.delay); late > slack {
			r.Fail("%s (delay %d ms) delivered %d ms late", id, w.delay, late)
		}
	}
	r.AddCounts("delay", l.Summary(want))
}

// ---------------------------------------------------------------------------------------------- transactions
type txListener struct {
	modes       sync.Map // id -> mode
	mu          sync.Mutex
	checks      map[string][]string
	committedAt sync.Map
}

func (t *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	id := m.GetProperty(idProp)
	mode, _ := t.modes.Load(id)
	switch mode {
	case "commit":
		t.committedAt.Store(id, nowMs())
		return primitive.CommitMessageState
	case "rollback":
		return primitive.RollbackMessageState
	}
	return primitive.UnknowState
}

func (t *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	id := m.GetProperty(idProp)
	t.mu.Lock()
	t.checks[id] = append(t.checks[id], m.GetProperty("TRANSACTION_CHECK_TIMES"))
	t.mu.Unlock()
	mode, _ := t.modes.Load(id)
	if mode == "unknown_commit" {
		t.committedAt.LoadOrStore(id, nowMs())
		return primitive.CommitMessageState
	}
	return primitive.RollbackMessageState
}

func scnFeatTransaction(r *Run) {
	l := NewLedger()
	plain, topic, route, ok := r.featSetup(l, "tx")
	if !ok {
		return
	}
	_ = plain
	c, err := r.NewPushConsumer("c", r.Group("c"), topic, "*", recorder(l))
	if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
		r.Fail("consumer: %v", err)
		return
	}
	listener := &txListener{checks: map[string][]string{}}
	tp, err := rocketmq.NewTransactionProducer(listener, producer.WithNameServer([]string{r.Namesrv}),
		producer.WithGroupName(r.Group("Ptx")), producer.WithInstanceName(r.Instance("TxProducer")), producer.WithRetry(2))
	if err == nil {
		err = tp.Start()
	}
	if err != nil {
		r.Fail("transaction producer: %v", err)
		return
	}
	r.onClose(func() { _ = tp.Shutdown() })
	modes := []string{"commit", "rollback", "unknown_commit", "unknown_rollback", "commit", "unknown_commit"}
	checked := 0
	for i, mode := range modes {
		m, e := Build(topic, smallSpec("tx", i+1))
		listener.modes.Store(e.ID, mode)
		e.Deliver = strings.HasSuffix(mode, "commit")
		if strings.HasPrefix(mode, "unknown") {
			e.Flag = 0 // the check service re-appends the half message without its flag (4.9.4 renewHalfMessageInner)
		}
		l.Expect(copyExpect(e)) // before sending: a commit may be delivered before the call returns
		if _, err := tp.SendMessageInTransaction(context.Background(), m); err != nil {
			r.Fail("send in transaction: %v", err)
			continue
		}
		r.AddSent(1)
		if strings.HasPrefix(mode, "unknown") {
			checked++
		}
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every committed message delivered")
	}
	time.Sleep(4500 * time.Millisecond) // two check intervals: rolled-back ones must stay invisible
	listener.mu.Lock()
	if len(listener.checks) != checked {
		r.Fail("check-backs for %d messages, want %d: %v", len(listener.checks), checked, listener.checks)
	}
	listener.mu.Unlock()
	r.AddCounts("transactions", l.Summary(want))
}

// ---------------------------------------------------------------------------------------------- SQL92
func scnFeatSQL92(r *Run) {
	seed := NewLedger()
	p, topic, route, ok := r.featSetup(seed, "sq")
	if !ok {
		return
	}
	type sel struct {
		expr string
		want func(a int, b string, c bool) bool
	}
	sels := []sel{
		{"a > 5 AND b = 'x'", func(a int, b string, c bool) bool { return a > 5 && b == "x" }},
		{"a BETWEEN 2 AND 4 OR c IS NOT NULL", func(a int, b string, c bool) bool { return (a >= 2 && a <= 4) || c }},
		{"b IN ('x', 'y') AND NOT (a = 3)", func(a int, b string, c bool) bool { return b != "z" && a != 3 }},
	}
	ledgers := make([]*Ledger, len(sels))
	for i, s := range sels {
		ledgers[i] = NewLedger()
		c, err := r.newConsumer(fmt.Sprintf("s%d", i), r.Group(fmt.Sprintf("s%d", i)), topic,
			consumer.MessageSelector{Type: consumer.SQL92, Expression: s.expr}, recorder(ledgers[i]))
		if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
			r.Fail("consumer %q: %v", s.expr, err)
			return
		}
	}
	bad := NewLedger()
	if _, err := r.newConsumer("bad", r.Group("bad"), topic,
		consumer.MessageSelector{Type: consumer.SQL92, Expression: "a > 'x'"}, recorder(bad)); err != nil {
		r.Logf("consumer with a bad expression refused at start: %v", err)
	}
	bs := []string{"x", "y", "z"}
	for i := 0; i < 12; i++ {
		m, e := Build(topic, smallSpec("sq", i+1))
		m.WithProperty("a", strconv.Itoa(i))
		m.WithProperty("b", bs[i%3])
		if i%4 == 0 {
			m.WithProperty("c", "yes")
		}
		for k, s := range sels { // before sending: deliveries can beat SendSync's return
			f := copyExpect(e)
			f.Deliver = s.want(i, bs[i%3], i%4 == 0)
			ledgers[k].Expect(f)
		}
		f := copyExpect(e)
		f.Deliver = false
		bad.Expect(f)
		if _, err := r.SendSync(p, m, e); err != nil {
			r.Fail("send: %v", err)
		}
	}
	for k, s := range sels {
		want := ledgers[k].DeliverKeys()
		if !ledgers[k].WaitFor(r.Deadline, func() bool { return ledgers[k].Has(want) }) {
			r.Fail("%q: not every selected message delivered", s.expr)
		}
	}
	time.Sleep(2 * r.Grace)
	for k, s := range sels {
		r.AddCounts(s.expr, ledgers[k].Summary(ledgers[k].DeliverKeys()))
	}
	r.AddCounts("bad expression", bad.Summary(nil))
}

// ---------------------------------------------------------------------------------------------- trace
func scnFeatTrace(r *Run) {
	cfg := &primitive.TraceConfig{GroupName: r.Group("trace"), Access: primitive.Local, NamesrvAddrs: []string{r.Namesrv}}
	l := NewLedger()
	p, topic, route, ok := r.featSetup(l, "tr", producer.WithTrace(cfg))
	if !ok {
		return
	}
	c, err := r.NewPushConsumer("c", r.Group("tc"), topic, "*", recorder(l), consumer.WithTrace(cfg))
	if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
		r.Fail("consumer: %v", err)
		return
	}
	var ids []string
	for i := 1; i <= 3; i++ {
		m, e := Build(topic, smallSpec("tr", i))
		res, err := r.SendSync(p, m, e, l)
		if err != nil {
			r.Fail("send: %v", err)
			continue
		}
		ids = append(ids, res.MsgID)
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every message consumed")
	}
	time.Sleep(2 * r.Grace) // let the trace dispatchers flush
	writeFeatureOut(r, map[string]interface{}{"msgIds": ids, "topic": topic})
	r.AddCounts("trace", l.Summary(want))
}

// ---------------------------------------------------------------------------------------------- ACL
func scnFeatACL(r *Run) {
	user := primitive.Credentials{AccessKey: "rmqlite_user", SecretKey: "user-secret-1"}
	l := NewLedger()
	p, topic, route, ok := r.featSetup(l, "acl", producer.WithCredentials(user))
	if !ok {
		return
	}
	c, err := r.NewPushConsumer("c", r.Group("acl"), topic, "*", recorder(l), consumer.WithCredentials(user))
	if err != nil || !r.waitAssigned(c, topic, route.WriteQueueNums) {
		r.Fail("consumer: %v", err)
		return
	}
	for i := 1; i <= 4; i++ {
		m, e := Build(topic, smallSpec("acl", i))
		if _, err := r.SendSync(p, m, e, l); err != nil {
			r.Fail("signed send: %v", err)
		}
	}
	want := l.DeliverKeys()
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("signed consumer did not get everything")
	}
	refusals := map[string]string{}
	try := func(name string, topic string, opts ...producer.Option) {
		q, err := r.NewProducer("acl"+name, append(opts, producer.WithRetry(0))...)
		if err != nil {
			refusals[name] = "producer: " + err.Error()
			return
		}
		_, err = q.SendSync(context.Background(), primitive.NewMessage(topic, []byte("x")))
		if err == nil {
			refusals[name] = "accepted"
		} else {
			refusals[name] = err.Error()
		}
	}
	try("wrongSecret", topic, producer.WithCredentials(primitive.Credentials{AccessKey: "rmqlite_user", SecretKey: "nope-nope"}))
	try("unsigned", topic)
	try("deniedTopic", "AclDeniedTopic", producer.WithCredentials(user))
	writeFeatureOut(r, refusals)
	time.Sleep(r.Grace)
	r.AddCounts("acl", l.Summary(want))
}
