// gocheck: drives an UNMODIFIED rocketmq-client-go v2.0.0 against a nameserver + broker (rmqlite or Apache
// RocketMQ 4.9.4) and checks every message byte for byte.
//
// How it works:
//  1. `gocheck --namesrv 127.0.0.1:9876 --scenario NAME|all` runs the named scenarios one after another; each uses
//     its own topics and groups (random suffix), so they can share one cluster.
//  2. Every scenario has a deadline (scaled by --timeout-scale); it prints exactly one JSON line on stdout:
//     {"scenario","sent","received","lost","duplicated","altered","unexpected","ok","error","seconds"}.
//  3. Exit status 0 only if every scenario was ok; 2 on bad usage. Client logs go to stderr.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Result is the one JSON line printed per scenario.
type Result struct {
	Scenario   string  `json:"scenario"`
	Sent       int     `json:"sent"`
	Received   int     `json:"received"`
	Lost       int     `json:"lost"`
	Duplicated int     `json:"duplicated"`
	Altered    int     `json:"altered"`
	Unexpected int     `json:"unexpected"`
	OK         bool    `json:"ok"`
	Error      string  `json:"error"`
	Seconds    float64 `json:"seconds"`
}

// Scenario is one named check with its own deadline.
type Scenario struct {
	Name    string
	Timeout time.Duration
	Doc     string
	Run     func(r *Run)
}

var scenarios = []Scenario{
	{"produce", 90 * time.Second, "sync/async/oneway/batch sends, keys/tags/properties, bodies 0 B..4 MiB", scnProduce},
	{"clustering", 90 * time.Second, "two push consumers in one group: every message exactly once", scnClustering},
	{"broadcasting", 90 * time.Second, "two broadcasting consumers: each gets every message once", scnBroadcasting},
	{"tag_filter", 90 * time.Second, "subscription 'TagA || TagB' gets exactly those tags", scnTagFilter},
	{"orderly", 120 * time.Second, "orderly consumer: per-queue and per-order-id order", scnOrderly},
	{"retry_dlq", 240 * time.Second, "RetryLater: reconsumeTimes 0,1,2 then %DLQ%group", scnRetryDLQ},
	{"pull_offset", 90 * time.Second, "pull consumer PullFrom offsets, offset lookups by time/max, long polling", scnPullOffset},
}

func main() {
	namesrv := flag.String("namesrv", "", "nameserver address host:port")
	scenario := flag.String("scenario", "all", "scenario name, comma list, or all")
	scale := flag.Float64("timeout-scale", 1.0, "multiply every scenario deadline")
	logLevel := flag.String("log-level", "error", "client log level on stderr: debug|info|warn|error")
	list := flag.Bool("list", false, "list scenarios and exit")
	listFeatures := flag.Bool("list-features", false, "list the feature scenarios (scn_features.go) and exit")
	flag.Parse()
	if *list || *listFeatures {
		shown := scenarios
		if *listFeatures {
			shown = featureScenarios
		}
		for _, s := range shown {
			fmt.Printf("%-14s %4.0fs  %s\n", s.Name, s.Timeout.Seconds(), s.Doc)
		}
		return
	}
	if *namesrv == "" {
		fmt.Fprintln(os.Stderr, "usage: gocheck --namesrv HOST:PORT --scenario NAME|all")
		os.Exit(2)
	}
	reexecWithOffsetDir()
	selected, err := pick(*scenario)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	setupClientLogging(*logLevel)
	allOK := true
	for _, s := range selected {
		res := runScenario(s, *namesrv, *scale)
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
		allOK = allOK && res.OK
	}
	if !allOK {
		os.Exit(1)
	}
}

func pick(spec string) ([]Scenario, error) {
	if spec == "all" {
		return scenarios, nil
	}
	byName := map[string]Scenario{}
	var names []string
	for _, s := range append(append([]Scenario{}, scenarios...), featureScenarios...) {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	var out []Scenario
	for _, n := range strings.Split(spec, ",") {
		s, ok := byName[strings.TrimSpace(n)]
		if !ok {
			sort.Strings(names)
			return nil, fmt.Errorf("unknown scenario %q (have: %s, all)", n, strings.Join(names, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// reexecWithOffsetDir: broadcasting/pull consumers keep offsets in files under the directory named by the
// environment variable below, read once at package init; default would be $HOME/.rocketmq_client_go. Point it at
// a temp dir (re-exec so the client's init sees it).
func reexecWithOffsetDir() {
	const key = "rocketmq.client.localOffsetStoreDir"
	if os.Getenv(key) != "" {
		return
	}
	dir := filepath.Join(os.TempDir(), "rmqlite-gocheck-offsets")
	self, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), key+"="+dir)
	if err := syscall.Exec(self, os.Args, env); err != nil {
		fmt.Fprintln(os.Stderr, "re-exec failed, offsets go to $HOME:", err)
	}
}
