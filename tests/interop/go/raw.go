// How it works: a tiny remoting client used only by the harness, never by the code under test.
//
//  1. rocketmq-client-go v2.0.0 has no admin API, so "does this topic have a route yet?" and "what offset has the
//     broker stored for this group?" are asked with single JSON-header requests (GET_ROUTEINFO_BY_TOPIC 105,
//     QUERY_CONSUMER_OFFSET 14, GET_ALL_CONSUMER_OFFSET 43) on a fresh TCP connection, closed afterwards.
//  2. Frame: int32 total length, int32 (serialize type 0 << 24 | header length), JSON header, no body.
//  3. Only the response code, extFields and raw body are used; the route body is fastjson (numeric map keys), so
//     it is searched with a regexp instead of being parsed as JSON.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"time"
)

type rawCmd struct {
	Code      int               `json:"code"`
	Language  string            `json:"language"`
	Version   int               `json:"version"`
	Opaque    int               `json:"opaque"`
	Flag      int               `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields"`
}

// rawInvoke sends one request and returns the decoded response header and body.
func rawInvoke(addr string, code int, ext map[string]string, timeout time.Duration) (*rawCmd, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	hdr, _ := json.Marshal(rawCmd{Code: code, Language: "GO", Version: 317, Opaque: 1, ExtFields: ext})
	frame := make([]byte, 8+len(hdr))
	binary.BigEndian.PutUint32(frame[0:], uint32(4+len(hdr)))
	binary.BigEndian.PutUint32(frame[4:], uint32(len(hdr)))
	copy(frame[8:], hdr)
	if _, err := conn.Write(frame); err != nil {
		return nil, nil, err
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return nil, nil, err
	}
	total := binary.BigEndian.Uint32(lenBuf[:])
	if total < 4 || total > 64<<20 {
		return nil, nil, fmt.Errorf("bad frame length %d", total)
	}
	buf := make([]byte, total)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, nil, err
	}
	hl := binary.BigEndian.Uint32(buf[:4])
	if hl>>24 != 0 {
		return nil, nil, fmt.Errorf("response serialize type %d, want JSON", hl>>24)
	}
	hl &= 0xFFFFFF
	if 4+int(hl) > len(buf) {
		return nil, nil, fmt.Errorf("bad header length %d", hl)
	}
	var resp rawCmd
	if err := json.Unmarshal(buf[4:4+hl], &resp); err != nil {
		return nil, nil, fmt.Errorf("response header: %v", err)
	}
	return &resp, buf[4+hl:], nil
}

var masterAddrRe = regexp.MustCompile(`"?0"?\s*:\s*"([0-9.]+:[0-9]+)"`)
var queueNumsRe = regexp.MustCompile(`"writeQueueNums"\s*:\s*(\d+)`)

// Route is the little we need from a topic route.
type Route struct {
	MasterAddr     string
	WriteQueueNums int
}

// queryRoute asks the nameserver for a topic route; ok=false when the topic does not exist (yet).
func queryRoute(namesrv, topic string) (Route, bool, error) {
	resp, body, err := rawInvoke(namesrv, 105, map[string]string{"topic": topic}, 3*time.Second)
	if err != nil {
		return Route{}, false, err
	}
	if resp.Code == 17 { // TOPIC_NOT_EXIST
		return Route{}, false, nil
	}
	if resp.Code != 0 {
		return Route{}, false, fmt.Errorf("GET_ROUTEINFO_BY_TOPIC code %d: %s", resp.Code, resp.Remark)
	}
	r := Route{}
	if m := masterAddrRe.FindSubmatch(body); m != nil {
		r.MasterAddr = string(m[1])
	}
	if m := queueNumsRe.FindSubmatch(body); m != nil {
		r.WriteQueueNums, _ = strconv.Atoi(string(m[1]))
	}
	if r.MasterAddr == "" {
		return r, false, nil
	}
	return r, true, nil
}

// waitRoute polls the nameserver until the topic has a route with a master, or the deadline passes.
func waitRoute(namesrv, topic string, deadline time.Time) (Route, error) {
	var lastErr error
	for {
		r, ok, err := queryRoute(namesrv, topic)
		if ok {
			return r, nil
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("no route for topic %s before deadline (last error: %v)", topic, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queryConsumerOffset asks the broker for a group's committed offset; -1 when the broker has none (code 22).
func queryConsumerOffset(broker, group, topic string, queueID int) (int64, error) {
	resp, _, err := rawInvoke(broker, 14, map[string]string{
		"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(queueID)}, 3*time.Second)
	if err != nil {
		return 0, err
	}
	if resp.Code == 22 {
		return -1, nil
	}
	if resp.Code != 0 {
		return 0, fmt.Errorf("QUERY_CONSUMER_OFFSET code %d: %s", resp.Code, resp.Remark)
	}
	return strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
}

// allConsumerOffsets returns the broker's whole consumer offset table (GET_ALL_CONSUMER_OFFSET 43) as JSON text.
func allConsumerOffsets(broker string) (string, error) {
	resp, body, err := rawInvoke(broker, 43, map[string]string{}, 3*time.Second)
	if err != nil {
		return "", err
	}
	if resp.Code != 0 {
		return "", fmt.Errorf("GET_ALL_CONSUMER_OFFSET code %d: %s", resp.Code, resp.Remark)
	}
	return string(body), nil
}
