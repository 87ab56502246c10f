// How it works: scenario "retry_dlq".
//
//  1. Half the messages are marked it_fail=1; the consumer (group G, WithMaxReconsumeTimes(2), pull batch 1,
//     consume batch 1 — v2.0.0 sends back the whole pulled batch when a callback fails) returns
//     ConsumeRetryLater for them and success for the rest.
//  2. The client sends failures back with CONSUMER_SEND_MSG_BACK (delayLevel 0 = broker picks 3 + reconsumeTimes,
//     maxReconsumeTimes 2). Each failing message must be delivered exactly with reconsumeTimes 0, 1, 2 (retries
//     come from %RETRY%G, RETRY_TOPIC = original topic) and then land in %DLQ%G; ok messages exactly once.
//  3. A second group reads %DLQ%G: exactly the failing messages, unaltered (topic %DLQ%G, RETRY_TOPIC = topic).
//  4. Timing: the broker creates %RETRY%G on the group's first heartbeat, which a fresh client sends after it
//     fetched its routes, so it would only see the retry route at its next 30 s refresh (Java alike). To keep
//     the test short a warm-up consumer of G (on an auxiliary topic) heartbeats first and is shut down once
//     %RETRY%G has a route — the situation of any restarted consumer group. Retry delays come from the broker's
//     messageDelayLevel (level 3 = 10 s, level 4 = 30 s by default; the test brokers use 1 s for all levels).
package main

import (
	"fmt"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

const maxReconsume = 2

func scnRetryDLQ(r *Run) {
	topic, group := r.Topic("t"), r.Group("r")
	l := NewLedger()
	l.perRetry, l.retryGroup = true, group
	dlq := NewLedger()
	dlq.dlqGroup = group
	p, err := r.NewProducer("main")
	if err != nil {
		r.Fail("producer: %v", err)
		return
	}
	if !warmUpRetryTopic(r, p, group) {
		return
	}
	var want, failIDs []string
	for i := 0; i < 8; i++ {
		s := smallSpec("rt", i)
		fail := i%2 == 1
		if fail {
			s.Props["it_fail"] = "1"
		}
		m, e := Build(topic, s)
		if _, err := r.SendSync(p, m, e, l); err != nil {
			r.Fail("send %s: %v", e.ID, err)
			continue
		}
		if !fail {
			want = append(want, e.ID+"#0")
			continue
		}
		failIDs = append(failIDs, e.ID)
		dlq.Expect(copyExpect(e))
		for rt := 0; rt <= maxReconsume; rt++ {
			want = append(want, fmt.Sprintf("%s#%d", e.ID, rt))
		}
	}
	if _, err := waitRoute(r.Namesrv, topic, r.Deadline); err != nil {
		r.Fail("%v", err)
		return
	}
	handler := func(name string, m *primitive.MessageExt) consumer.ConsumeResult {
		l.Record(name, m)
		r.Logf("delivery %s reconsumeTimes=%d topic=%s", m.GetProperty(idProp), m.ReconsumeTimes, m.Topic)
		if m.GetProperty("it_fail") == "1" {
			return consumer.ConsumeRetryLater
		}
		return consumer.ConsumeSuccess
	}
	_, err = r.NewPushConsumer("c", group, topic, "*", handler, consumer.WithMaxReconsumeTimes(maxReconsume),
		consumer.WithPullBatchSize(1), consumer.WithConsumeMessageBatchMaxSize(1))
	if err != nil {
		r.Fail("consumer: %v", err)
		return
	}
	if !l.WaitFor(r.Deadline, func() bool { return l.Has(want) }) {
		r.Fail("not every (message, reconsumeTimes) delivered before the deadline")
	}
	dlqTopic := "%DLQ%" + group
	if _, err := waitRoute(r.Namesrv, dlqTopic, r.Deadline); err != nil {
		r.Fail("%v", err)
		r.AddCounts("group", l.Summary(want))
		return
	}
	_, err = r.NewPushConsumer("dlq", r.Group("dlqreader"), dlqTopic, "*", recorder(dlq))
	if err != nil {
		r.Fail("DLQ consumer: %v", err)
		return
	}
	if !dlq.WaitFor(r.Deadline, func() bool { return dlq.Has(failIDs) }) {
		r.Fail("not every failing message reached %s before the deadline", dlqTopic)
	}
	time.Sleep(r.Grace)
	r.AddCounts("group", l.Summary(want))
	r.AddCounts("DLQ reader", dlq.Summary(failIDs))
	checkReconsumeOrder(r, l)
}

// warmUpRetryTopic makes the broker create %RETRY%group (heartbeat of a short-lived consumer of the group).
func warmUpRetryTopic(r *Run, p rocketmq.Producer, group string) bool {
	aux := r.Topic("aux")
	m, e := Build(aux, smallSpec("aux", 0))
	if _, err := r.SendSync(p, m, e); err != nil {
		r.Fail("send to auxiliary topic: %v", err)
		return false
	}
	if _, err := waitRoute(r.Namesrv, aux, r.Deadline); err != nil {
		r.Fail("%v", err)
		return false
	}
	x, err := r.NewPushConsumer("warmup", group, aux, "*", func(string, *primitive.MessageExt) consumer.ConsumeResult {
		return consumer.ConsumeSuccess
	})
	if err != nil {
		r.Fail("warm-up consumer: %v", err)
		return false
	}
	_, err = waitRoute(r.Namesrv, "%RETRY%"+group, r.Deadline)
	_ = x.Shutdown()
	if err != nil {
		r.Fail("retry topic not created by the group's heartbeat: %v", err)
		return false
	}
	return true
}

// checkReconsumeOrder: each failing message's deliveries must come with reconsumeTimes 0, 1, 2 in that order.
func checkReconsumeOrder(r *Run, l *Ledger) {
	byID := map[string][]int32{}
	for _, d := range l.Deliveries() {
		byID[d.ID] = append(byID[d.ID], d.ReconsumeTimes)
	}
	for id, seq := range byID {
		for i, rt := range seq {
			if rt != int32(i) {
				r.Fail("%s: reconsumeTimes sequence %v", id, seq)
				break
			}
		}
	}
}
