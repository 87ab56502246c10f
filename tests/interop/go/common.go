// How it works: shared plumbing for scenarios.
//
//  1. A Run owns one scenario: unique suffix for topics/groups/instance names, the deadline, the list of clients to
//     shut down, and the problems found. Every client gets its own instance name because v2.0.0 caches clients by
//     clientID forever (a second client with the same id would reuse a shut-down one).
//  2. A scenario runs in its own goroutine; if it passes the deadline the Run reports what it has and is abandoned
//     (its topics are unique, so a straggler cannot disturb the next scenario).
//  3. Panics inside client goroutines are caught through primitive.PanicHandler and fail the running scenario.
//  4. Messages carry it_id plus other it_* properties; bodies are deterministic pseudo-random bytes per id.
package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// Run is the state of one scenario execution.
type Run struct {
	Name     string
	Namesrv  string
	Suffix   string
	Deadline time.Time
	Grace    time.Duration

	mu       sync.Mutex
	problems []string
	closers  []func()
	result   Result
}

var (
	panicMu  sync.Mutex
	panicLog []string
)

func runScenario(s Scenario, namesrv string, scale float64) Result {
	start := time.Now()
	timeout := time.Duration(float64(s.Timeout) * scale)
	r := &Run{Name: s.Name, Namesrv: namesrv, Suffix: fmt.Sprintf("%d%04d", start.Unix()%100000, rand.Intn(10000)),
		Deadline: start.Add(timeout), Grace: 1500 * time.Millisecond}
	r.result.Scenario = s.Name
	panicMu.Lock()
	panicsBefore := len(panicLog)
	panicMu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				r.Fail("scenario panicked: %v", v)
			}
		}()
		s.Run(r)
	}()
	select {
	case <-done:
		r.closeAll()
	case <-time.After(timeout + 15*time.Second):
		r.Fail("scenario did not finish within %s (+15 s)", timeout)
		go r.closeAll()
	}
	panicMu.Lock()
	for _, p := range panicLog[panicsBefore:] {
		r.Fail("client goroutine panicked: %s", p)
	}
	panicMu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.result
	res.Seconds = float64(time.Since(start).Milliseconds()) / 1000
	res.OK = len(r.problems) == 0
	res.Error = strings.Join(r.problems, "; ")
	if len(res.Error) > 4000 {
		res.Error = res.Error[:4000] + "...(truncated)"
	}
	return res
}

// Fail records a problem; the scenario will be reported as not ok.
func (r *Run) Fail(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.problems = append(r.problems, msg)
	r.mu.Unlock()
	fmt.Fprintf(os.Stderr, "[%s] FAIL: %s\n", r.Name, msg)
}

// Logf writes progress to stderr.
func (r *Run) Logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "[%s %s] %s\n", time.Now().Format("15:04:05.000"), r.Name, fmt.Sprintf(format, args...))
}

// AddCounts adds ledger counts into the scenario result and turns problems into failures.
func (r *Run) AddCounts(label string, c Counts) {
	r.mu.Lock()
	r.result.Received += c.Received
	r.result.Lost += c.Lost
	r.result.Duplicated += c.Duplicated
	r.result.Altered += c.Altered
	r.result.Unexpected += c.Unexpected
	r.mu.Unlock()
	for _, p := range c.Problems {
		r.Fail("%s: %s", label, p)
	}
}

// AddSent counts successfully sent messages.
func (r *Run) AddSent(n int) {
	r.mu.Lock()
	r.result.Sent += n
	r.mu.Unlock()
}

func (r *Run) onClose(f func()) {
	r.mu.Lock()
	r.closers = append(r.closers, f)
	r.mu.Unlock()
}

func (r *Run) closeAll() {
	r.mu.Lock()
	cs := r.closers
	r.closers = nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// Topic / group names: unique per run, valid for RocketMQ (^[%|a-zA-Z0-9_-]+$).
func (r *Run) Topic(role string) string { return fmt.Sprintf("GoIT_%s_%s_%s", r.Name, role, r.Suffix) }
func (r *Run) Group(role string) string {
	return fmt.Sprintf("GID_go_%s_%s_%s", r.Name, role, r.Suffix)
}
func (r *Run) Instance(role string) string {
	return fmt.Sprintf("%s-%s-%s-%d", r.Name, role, r.Suffix, os.Getpid())
}

// NewProducer starts a producer with its own client instance.
func (r *Run) NewProducer(role string, opts ...producer.Option) (rocketmq.Producer, error) {
	base := []producer.Option{
		producer.WithNameServer([]string{r.Namesrv}),
		producer.WithGroupName(r.Group("P" + role)),
		producer.WithInstanceName(r.Instance("P" + role)),
		producer.WithRetry(2),
	}
	p, err := rocketmq.NewProducer(append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	r.onClose(func() { _ = p.Shutdown() })
	return p, nil
}

// PushConsumer is the part of v2.0.0's *consumer.pushConsumer the scenarios use (the type is unexported).
type PushConsumer interface {
	Start() error
	Shutdown() error
	Subscribe(topic string, selector consumer.MessageSelector,
		f func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error)) error
	PersistConsumerOffset() error
}

// Handler is called once per delivered message; its result is returned to the client for that message.
type Handler func(consumerName string, m *primitive.MessageExt) consumer.ConsumeResult

// NewPushConsumer subscribes and starts a push consumer (from the first offset unless opts say otherwise).
func (r *Run) NewPushConsumer(name, group, topic, expr string, h Handler, opts ...consumer.Option) (PushConsumer, error) {
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
	sel := consumer.MessageSelector{Type: consumer.TAG, Expression: expr}
	err = c.Subscribe(topic, sel, func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		res := consumer.ConsumeSuccess
		for _, m := range msgs {
			if h(name, m) != consumer.ConsumeSuccess {
				res = consumer.ConsumeRetryLater
			}
		}
		return res, nil
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

// assignedQueues lists the queue ids of topic currently held by a push consumer (from GetConsumerRunningInfo).
func assignedQueues(c PushConsumer, topic string) []int {
	m := reflect.ValueOf(c).MethodByName("GetConsumerRunningInfo")
	if !m.IsValid() {
		return nil
	}
	info := m.Call(nil)[0]
	if info.IsNil() {
		return nil
	}
	table := info.Elem().FieldByName("MQTable")
	var ids []int
	for _, k := range table.MapKeys() {
		mq := k.Interface().(primitive.MessageQueue)
		if mq.Topic == topic {
			ids = append(ids, mq.QueueId)
		}
	}
	return ids
}

// MsgSpec describes one message to send.
type MsgSpec struct {
	ID    string
	Size  int
	Tags  string
	Keys  []string
	Props map[string]string
	Flag  int32
}

// body returns size deterministic pseudo-random bytes for id (all byte values occur).
func body(id string, size int) []byte {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	rng := rand.New(rand.NewSource(int64(h.Sum64())))
	b := make([]byte, size)
	_, _ = rng.Read(b)
	return b
}

// Build makes the client message and its expectation (queue/offset unknown until the send result).
func Build(topic string, s MsgSpec) (*primitive.Message, *Expect) {
	m := primitive.NewMessage(topic, body(s.ID, s.Size))
	m.Flag = s.Flag
	e := &Expect{ID: s.ID, Topic: topic, Body: m.Body, Flag: s.Flag, Tags: s.Tags, Props: map[string]string{},
		QueueID: -1, QueueOffset: -1, Deliver: true}
	if s.Tags != "" {
		m.WithTag(s.Tags)
	}
	if len(s.Keys) > 0 {
		m.WithKeys(s.Keys)
		e.Keys = strings.Join(s.Keys, " ") + " " // v2.0.0 WithKeys writes a separator after every key
	}
	m.WithProperty(idProp, s.ID)
	e.Props[idProp] = s.ID
	for k, v := range s.Props {
		m.WithProperty(k, v)
		e.Props[k] = v
	}
	return m, e
}

func copyExpect(e *Expect) *Expect {
	c := *e
	return &c
}

func nowMs() int64 { return time.Now().UnixNano() / int64(time.Millisecond) }

// SendSync sends one message and registers it in the ledger with what the send result told.
func (r *Run) SendSync(p rocketmq.Producer, m *primitive.Message, e *Expect, ls ...*Ledger) (*primitive.SendResult, error) {
	for _, l := range ls {
		l.Expect(copyExpect(e))
	}
	e2 := *e
	e2.BornMin = nowMs()
	res, err := p.SendSync(context.Background(), m)
	e2.BornMax = nowMs()
	if err == nil && (res == nil || res.Status != primitive.SendOK || res.MessageQueue == nil) {
		err = fmt.Errorf("send result not OK: %v", res)
	}
	if err != nil {
		for _, l := range ls {
			l.Forget(e.ID)
		}
		return res, err
	}
	e2.QueueID, e2.QueueOffset = res.MessageQueue.QueueId, res.QueueOffset
	e2.MsgID, e2.OffsetMsgID = res.MsgID, res.OffsetMsgID
	*e = e2
	for _, l := range ls {
		l.Expect(copyExpect(&e2))
	}
	r.AddSent(1)
	return res, nil
}

// SendBatch sends msgs as one batch and registers each (consecutive offsets, comma-joined offset ids).
func (r *Run) SendBatch(p rocketmq.Producer, ms []*primitive.Message, es []*Expect, ls ...*Ledger) error {
	for _, e := range es {
		for _, l := range ls {
			l.Expect(copyExpect(e))
		}
	}
	before := nowMs()
	res, err := p.SendSync(context.Background(), ms...)
	after := nowMs()
	if err == nil && (res == nil || res.Status != primitive.SendOK || res.MessageQueue == nil) {
		err = fmt.Errorf("batch send result not OK: %v", res)
	}
	if err != nil {
		for _, e := range es {
			for _, l := range ls {
				l.Forget(e.ID)
			}
		}
		return err
	}
	ids := strings.Split(res.OffsetMsgID, ",")
	if len(ids) != len(es) {
		r.Fail("batch of %d: send result has %d offset msg ids (%q)", len(es), len(ids), res.OffsetMsgID)
	}
	for i, e := range es {
		e2 := *e
		e2.QueueID, e2.QueueOffset = res.MessageQueue.QueueId, res.QueueOffset+int64(i)
		e2.BornMin, e2.BornMax = before, after
		if len(ids) == len(es) {
			e2.OffsetMsgID = ids[i]
		}
		*e = e2
		for _, l := range ls {
			l.Expect(copyExpect(&e2))
		}
	}
	r.AddSent(len(es))
	return nil
}

func setupClientLogging(level string) {
	lv, ok := map[string]int{"debug": 0, "info": 1, "warn": 2, "error": 3}[level]
	if !ok {
		lv = 3
	}
	rlog.SetLogger(&stderrLogger{level: lv})
	primitive.PanicHandler = func(v interface{}) {
		panicMu.Lock()
		panicLog = append(panicLog, fmt.Sprint(v))
		panicMu.Unlock()
		fmt.Fprintf(os.Stderr, "client panic: %v\n", v)
	}
}

type stderrLogger struct{ level int }

func (l *stderrLogger) log(lv int, name, msg string, fields map[string]interface{}) {
	if lv < l.level {
		return
	}
	fmt.Fprintf(os.Stderr, "%s client %s: %s %v\n", time.Now().Format("15:04:05.000"), name, msg, fields)
}
func (l *stderrLogger) Debug(m string, f map[string]interface{})   { l.log(0, "DEBUG", m, f) }
func (l *stderrLogger) Info(m string, f map[string]interface{})    { l.log(1, "INFO", m, f) }
func (l *stderrLogger) Warning(m string, f map[string]interface{}) { l.log(2, "WARN", m, f) }
func (l *stderrLogger) Error(m string, f map[string]interface{})   { l.log(3, "ERROR", m, f) }
func (l *stderrLogger) Fatal(m string, f map[string]interface{})   { l.log(4, "FATAL", m, f) }
