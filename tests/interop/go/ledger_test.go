package main

import (
	"hash/crc32"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// delivered builds the MessageExt a consumer would get for spec, as stored by a correct broker.
func delivered(topic string, s MsgSpec, e *Expect) *primitive.MessageExt {
	m, _ := Build(topic, s)
	ext := &primitive.MessageExt{QueueOffset: e.QueueOffset}
	ext.Topic, ext.Body, ext.Flag = m.Topic, m.Body, m.Flag
	ext.WithProperties(m.GetProperties())
	ext.Queue = &primitive.MessageQueue{Topic: topic, QueueId: e.QueueID}
	ext.BodyCRC = crcOf(ext.Body)
	ext.WithProperty("UNIQ_KEY", "X")
	ext.MsgId = "X"
	return ext
}

func crcOf(b []byte) int32 { return int32(crc32.ChecksumIEEE(b) & 0x7FFFFFFF) }

func spec() MsgSpec {
	return MsgSpec{ID: "a-1", Size: 100, Tags: "TagA", Keys: []string{"k1", "k2"}, Flag: 3,
		Props: map[string]string{"it_x": "y"}}
}

func TestLedgerCountsCleanDelivery(t *testing.T) {
	l := NewLedger()
	_, e := Build("T", spec())
	e.QueueID, e.QueueOffset, e.MsgID = 1, 7, "X"
	l.Expect(e)
	l.Record("c", delivered("T", spec(), e))
	c := l.Summary([]string{"a-1"})
	if c.Received != 1 || c.Lost+c.Altered+c.Duplicated+c.Unexpected != 0 {
		t.Fatalf("clean delivery counted as %+v", c)
	}
}

func TestLedgerCatchesEveryKindOfProblem(t *testing.T) {
	cases := map[string]func(m *primitive.MessageExt){
		"body":    func(m *primitive.MessageExt) { m.Body = append([]byte(nil), m.Body...); m.Body[5] ^= 1 },
		"tags":    func(m *primitive.MessageExt) { m.WithProperty("TAGS", "TagB") },
		"keys":    func(m *primitive.MessageExt) { m.WithProperty("KEYS", "k1 k2") },
		"prop":    func(m *primitive.MessageExt) { m.WithProperty("it_x", "z") },
		"extra":   func(m *primitive.MessageExt) { m.WithProperty("it_new", "1") },
		"flag":    func(m *primitive.MessageExt) { m.Flag = 4 },
		"topic":   func(m *primitive.MessageExt) { m.Topic = "U" },
		"offset":  func(m *primitive.MessageExt) { m.QueueOffset = 8 },
		"queue":   func(m *primitive.MessageExt) { m.Queue.QueueId = 2 },
		"msgid":   func(m *primitive.MessageExt) { m.MsgId = "Y" },
		"bodycrc": func(m *primitive.MessageExt) { m.BodyCRC++ },
	}
	for name, mutate := range cases {
		l := NewLedger()
		_, e := Build("T", spec())
		e.QueueID, e.QueueOffset, e.MsgID = 1, 7, "X"
		l.Expect(e)
		m := delivered("T", spec(), e)
		mutate(m)
		l.Record("c", m)
		if c := l.Summary([]string{"a-1"}); c.Altered != 1 {
			t.Errorf("%s: not seen as altered: %+v", name, c)
		}
	}
}

func TestLedgerDuplicatesLostUnexpected(t *testing.T) {
	l := NewLedger()
	_, e := Build("T", spec())
	l.Expect(e)
	s2 := spec()
	s2.ID = "a-2"
	_, e2 := Build("T", s2)
	e2.Deliver = false
	l.Expect(e2)
	m := delivered("T", spec(), e)
	l.Record("c", m)
	l.Record("c", m)
	l.Record("c", delivered("T", s2, e2))
	s3 := spec()
	s3.ID = "a-3"
	_, e3 := Build("T", s3)
	l.Expect(e3)
	c := l.Summary([]string{"a-1", "a-3"})
	if c.Duplicated != 1 || c.Unexpected != 1 || c.Lost != 1 || c.Received != 1 {
		t.Fatalf("got %+v", c)
	}
}

func TestExpectedLookupFollows494(t *testing.T) {
	times := []int64{100, 110, 110, 130}
	cases := []struct {
		ts   int64
		want []int64
	}{
		{0, []int64{0}}, {99, []int64{0}}, {100, []int64{0}}, {104, []int64{0}}, {105, []int64{0}}, // tie -> earlier
		{106, []int64{1}}, {110, []int64{1, 2}}, {120, []int64{2}}, {121, []int64{3}}, {500, []int64{3}},
	}
	for _, c := range cases {
		got := expectedLookup(times, c.ts)
		if len(got) != len(c.want) {
			t.Errorf("ts %d: got %v want %v", c.ts, keys(got), c.want)
			continue
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("ts %d: got %v want %v", c.ts, keys(got), c.want)
			}
		}
	}
}
