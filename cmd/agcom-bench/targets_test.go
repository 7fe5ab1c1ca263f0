package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteTargets(t *testing.T) {
	runs := map[string][]result{
		"sqlite": {
			{name: "send", reqPerSec: 2000},
			{name: "send (1 admin)", reqPerSec: 1800},
			{name: "send (200 admins)", reqPerSec: 1500},
			{name: "send (1 admin, again)", reqPerSec: 1600},
		},
		"postgres": {
			{name: "send", reqPerSec: 700, locks: &lockSamples{samples: 10, active: 100, waiting: 5}},
			{name: "send (2 nodes)", reqPerSec: 600},
			{name: "send (1 node, again)", reqPerSec: 500},
			{name: "send (1 admin)", reqPerSec: 600},
			{name: "send (200 admins)", reqPerSec: 560},
		},
	}
	want := map[string]string{
		"sqlite: send (200 admins) >= 0.85x send (1 admin) (before and after)":   "0.88x met",
		"postgres: send (200 admins) >= 0.85x send (1 admin) (before and after)": "0.93x met",
		"postgres: backends waiting on a lock during send < 10%":                 "5.0% met",
		"postgres send >= 0.3x sqlite send":                                      "0.35x met",
		"postgres: send (2 nodes) >= 1.0x send (before and after)":               "1.00x met",
	}
	got := writeTargets(runs)
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d: %+v", len(got), len(want), got)
	}
	for _, tg := range got {
		verdict := "not met"
		if tg.met {
			verdict = "met"
		}
		if w, ok := want[tg.what]; !ok || w != tg.measured+" "+verdict {
			t.Errorf("%s: %s %s, want %q", tg.what, tg.measured, verdict, w)
		}
	}

	// With the database on CPUs of its own, two nodes are judged there.
	runs["postgres"] = append(runs["postgres"],
		result{name: "send (database on its own CPUs)", reqPerSec: 500},
		result{name: "send (2 nodes, database on its own CPUs)", reqPerSec: 490})
	nodes := writeTargets(runs)[len(got)-1]
	if nodes.what != "postgres: send (2 nodes, database on its own CPUs) >= 1.0x send (database on its own CPUs) (taking turns)" ||
		nodes.measured != "0.98x" || nodes.met {
		t.Errorf("two nodes on split CPUs: %+v", nodes)
	}

	// One store alone: its own ratio, nothing it did not measure.
	var out bytes.Buffer
	printTargets(&out, map[string][]result{"sqlite": {{name: "send", reqPerSec: 100}}})
	if s := out.String(); !strings.Contains(s, "not measured") || strings.Contains(s, "postgres") {
		t.Errorf("SQLite alone without the admins scenarios:\n%s", s)
	}
}
