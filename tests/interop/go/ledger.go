// How it works: the ledger remembers every message a scenario sent (keyed by the user property it_id) and checks
// every delivery against it.
//
//  1. A sent message is registered with everything the consumer must see again byte for byte: topic, body, flag,
//     KEYS, TAGS, all it_* user properties and, when the send result told us, queue id, queue offset, UNIQ_KEY and
//     the broker's offset message id.
//  2. A delivery is matched by it_id. Unknown id, or a message not meant for this consumer (tag filter) =>
//     "unexpected". Same id (and same reconsumeTimes when retries are tracked) seen twice => "duplicated".
//     Any field differing => "altered" (the differences are kept for the error text).
//  3. Properties added by the broker or by the client (UNIQ_KEY, CLUSTER, MIN_OFFSET, RETRY_TOPIC, ...) are
//     allowed; only it_* properties, KEYS and TAGS are compared, so the check is exact for what the user wrote.
package main

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

const idProp = "it_id"

// Expect is what one sent message must look like when it is delivered.
type Expect struct {
	ID          string
	Topic       string
	Body        []byte
	Flag        int32
	Keys        string
	Tags        string
	Props       map[string]string // it_* user properties, it_id included
	QueueID     int               // -1 unknown (oneway)
	QueueOffset int64             // -1 unknown
	MsgID       string            // UNIQ_KEY reported by the send, "" unknown
	OffsetMsgID string            // broker offset msg id from the send result, "" unknown
	BornMin     int64             // ms; born timestamp must lie in [BornMin, BornMax] (0 = unchecked)
	BornMax     int64
	Deliver     bool // whether the consumer under test must receive it
}

// Delivery is one message handed to a consumer callback.
type Delivery struct {
	ID             string
	Consumer       string
	Topic          string
	QueueID        int
	QueueOffset    int64
	ReconsumeTimes int32
	At             time.Time
}

// Ledger tracks one consumer view (or a group of consumers sharing one view).
type Ledger struct {
	mu         sync.Mutex
	changed    chan struct{}
	expected   map[string]*Expect
	order      []string
	seen       map[string]int // delivery key -> count
	deliveries []Delivery
	altered    []string
	unexpected []string
	duplicates int
	// perRetry: when true a delivery key is id + reconsumeTimes (retries are expected redeliveries).
	perRetry bool
	// retryGroup / dlqGroup: accepted topic rewrites for deliveries of retried / dead-lettered messages.
	retryGroup string
	dlqGroup   string
}

// NewLedger makes an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{
		changed:  make(chan struct{}, 1),
		expected: map[string]*Expect{},
		seen:     map[string]int{},
	}
}

// Expect registers a sent message (or replaces it, e.g. when an async send result arrives).
func (l *Ledger) Expect(e *Expect) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.expected[e.ID]; !ok {
		l.order = append(l.order, e.ID)
	}
	l.expected[e.ID] = e
}

// Forget removes a message whose send failed (it was never stored).
func (l *Ledger) Forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.expected, id)
}

// Get returns the expectation for id (nil if unknown).
func (l *Ledger) Get(id string) *Expect {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expected[id]
}

// Record checks one delivered message; consumer names who got it.
func (l *Ledger) Record(consumer string, m *primitive.MessageExt) {
	id := m.GetProperty(idProp)
	d := Delivery{ID: id, Consumer: consumer, Topic: m.Topic, QueueOffset: m.QueueOffset,
		ReconsumeTimes: m.ReconsumeTimes, At: time.Now()}
	if m.Queue != nil {
		d.QueueID = m.Queue.QueueId
	}
	l.mu.Lock()
	defer func() {
		l.mu.Unlock()
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}()
	l.deliveries = append(l.deliveries, d)
	e, ok := l.expected[id]
	if !ok || !e.Deliver {
		l.unexpected = append(l.unexpected, fmt.Sprintf("%s got unexpected id=%q topic=%s tags=%q",
			consumer, id, m.Topic, m.GetTags()))
		return
	}
	key := id
	if l.perRetry {
		key = fmt.Sprintf("%s#%d", id, m.ReconsumeTimes)
	}
	l.seen[key]++
	if l.seen[key] > 1 {
		l.duplicates++
		return
	}
	if diffs := l.compare(e, m); len(diffs) > 0 {
		l.altered = append(l.altered, fmt.Sprintf("%s: %s", id, strings.Join(diffs, "; ")))
	}
}

func (l *Ledger) compare(e *Expect, m *primitive.MessageExt) []string {
	var diffs []string
	add := func(format string, args ...interface{}) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	retried := m.ReconsumeTimes > 0 || m.Topic != e.Topic
	switch {
	case m.Topic == e.Topic:
	case l.retryGroup != "" && m.Topic == "%RETRY%"+l.retryGroup && m.GetProperty("RETRY_TOPIC") == e.Topic:
	case l.dlqGroup != "" && m.Topic == "%DLQ%"+l.dlqGroup && m.GetProperty("RETRY_TOPIC") == e.Topic:
	default:
		add("topic %q (RETRY_TOPIC %q) want %q", m.Topic, m.GetProperty("RETRY_TOPIC"), e.Topic)
	}
	if !bytes.Equal(m.Body, e.Body) {
		add("body differs (len %d want %d, first diff at %d)", len(m.Body), len(e.Body), firstDiff(m.Body, e.Body))
	}
	if want := int32(crc32.ChecksumIEEE(e.Body) & 0x7FFFFFFF); m.BodyCRC != want {
		add("BODYCRC %d want %d", m.BodyCRC, want)
	}
	if m.Flag != e.Flag {
		add("flag %d want %d", m.Flag, e.Flag)
	}
	if got := m.GetProperty(primitive.PropertyKeys); got != e.Keys {
		add("KEYS %q want %q", got, e.Keys)
	}
	if got := m.GetProperty(primitive.PropertyTags); got != e.Tags {
		add("TAGS %q want %q", got, e.Tags)
	}
	got := map[string]string{}
	for k, v := range m.GetProperties() {
		if strings.HasPrefix(k, "it_") {
			got[k] = v
		}
	}
	if d := diffProps(got, e.Props); d != "" {
		add("user properties: %s", d)
	}
	if e.MsgID != "" && m.MsgId != e.MsgID {
		add("msgId(UNIQ_KEY) %q want %q", m.MsgId, e.MsgID)
	}
	if e.BornMin > 0 && (m.BornTimestamp < e.BornMin || m.BornTimestamp > e.BornMax) {
		add("bornTimestamp %d not in [%d,%d]", m.BornTimestamp, e.BornMin, e.BornMax)
	}
	if !retried {
		if e.QueueID >= 0 && m.Queue != nil && m.Queue.QueueId != e.QueueID {
			add("queueId %d want %d", m.Queue.QueueId, e.QueueID)
		}
		if e.QueueOffset >= 0 && m.QueueOffset != e.QueueOffset {
			add("queueOffset %d want %d", m.QueueOffset, e.QueueOffset)
		}
		if e.OffsetMsgID != "" && m.OffsetMsgId != e.OffsetMsgID {
			add("offsetMsgId %s want %s (send result)", m.OffsetMsgId, e.OffsetMsgID)
		}
	}
	return diffs
}

func firstDiff(a, b []byte) int {
	n := len(a)
	if len(b) < n {
		n = len(b)
	}
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func diffProps(got, want map[string]string) string {
	var out []string
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			out = append(out, fmt.Sprintf("missing %s", k))
		} else if g != v {
			out = append(out, fmt.Sprintf("%s=%q want %q", k, trunc(g), trunc(v)))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("extra %s", k))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Check compares one message with its expectation without recording a delivery.
func (l *Ledger) Check(m *primitive.MessageExt) []string {
	id := m.GetProperty(idProp)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.expected[id]
	if !ok {
		return []string{fmt.Sprintf("unknown it_id %q", id)}
	}
	return l.compare(e, m)
}

// Counts summarises the ledger: messages meant for delivery, distinct received, lost, duplicated, altered,
// unexpected. With perRetry each (id, reconsumeTimes) is one expected delivery only if listed in wantKeys.
type Counts struct {
	Expected, Received, Lost, Duplicated, Altered, Unexpected int
	Problems                                                  []string
}

// Summary counts against the expected delivery keys (ids, or id#reconsumeTimes when perRetry).
func (l *Ledger) Summary(wantKeys []string) Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := Counts{Expected: len(wantKeys), Duplicated: l.duplicates, Altered: len(l.altered),
		Unexpected: len(l.unexpected)}
	var lost []string
	want := map[string]bool{}
	for _, k := range wantKeys {
		want[k] = true
		if l.seen[k] > 0 {
			c.Received++
		} else {
			lost = append(lost, k)
		}
	}
	var extra []string
	for k := range l.seen {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		c.Unexpected += len(extra)
		c.Problems = append(c.Problems, "deliveries nobody expected: "+headList(extra, 5))
	}
	c.Lost = len(lost)
	if len(lost) > 0 {
		c.Problems = append(c.Problems, "lost: "+headList(lost, 5))
	}
	if len(l.altered) > 0 {
		c.Problems = append(c.Problems, "altered: "+headList(l.altered, 3))
	}
	if len(l.unexpected) > 0 {
		c.Problems = append(c.Problems, "unexpected: "+headList(l.unexpected, 3))
	}
	if l.duplicates > 0 {
		c.Problems = append(c.Problems, fmt.Sprintf("%d duplicate deliveries", l.duplicates))
	}
	return c
}

// DeliverKeys lists the ids of registered messages with Deliver set, in send order.
func (l *Ledger) DeliverKeys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keys []string
	for _, id := range l.order {
		if e, ok := l.expected[id]; ok && e.Deliver {
			keys = append(keys, id)
		}
	}
	return keys
}

// Has reports whether every key was seen at least once.
func (l *Ledger) Has(keys []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if l.seen[k] == 0 {
			return false
		}
	}
	return true
}

// Deliveries returns a copy of the delivery log.
func (l *Ledger) Deliveries() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Delivery(nil), l.deliveries...)
}

// WaitFor blocks until cond() holds (checked after every delivery and every 200 ms) or the deadline passes.
func (l *Ledger) WaitFor(deadline time.Time, cond func() bool) bool {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-l.changed:
		case <-t.C:
		}
	}
}

func headList(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, " | ")
	}
	return strings.Join(xs[:n], " | ") + fmt.Sprintf(" | ... (%d more)", len(xs)-n)
}
