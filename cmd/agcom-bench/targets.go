package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// The write targets: what a send costs must not depend on the number of
// admins; PostgreSQL's senders must not wait on each other's locks, and
// must keep up with a fair share of SQLite's; nodes on one database must
// add up (docs/PERFORMANCE.md, "Writes that scale").
const (
	minAdminsRatio    = 0.85 // send (200 admins) / send, each store
	maxLockWaitShare  = 0.10 // of active PostgreSQL backends during send
	minPostgresRatio  = 0.3  // PostgreSQL send / SQLite send, same run
	minTwoNodesRatio  = 1.0  // send (2 nodes) / send, PostgreSQL
	storeNameSQLite   = "sqlite"
	storeNamePostgres = "postgres"
)

// target is one write target as measured: met is false when the run did
// not measure it.
type target struct {
	what, measured  string
	met, measuredOK bool
}

// writeTargets judges the runs of each store against the write targets.
// A variant (200 admins, 2 nodes) is compared with its reference measured
// just before and just after it, averaged, so that what changes over a
// run (the database grows, PostgreSQL vacuums) counts for neither.
func writeTargets(runs map[string][]result) []target {
	rate := func(store string, names ...string) float64 {
		var sum float64
		var n int
		for _, name := range names {
			for _, r := range runs[store] {
				if r.name == name && r.reqPerSec > 0 {
					sum, n = sum+r.reqPerSec, n+1
				}
			}
		}
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	ratio := func(what string, a, b, min float64) target {
		if a == 0 || b == 0 {
			return target{what: what, measured: "not measured"}
		}
		x := a / b
		return target{what: what, measured: fmt.Sprintf("%.2fx", x), met: x >= min, measuredOK: true}
	}
	var out []target
	for _, st := range []string{storeNameSQLite, storeNamePostgres} {
		if _, ran := runs[st]; ran {
			out = append(out, ratio(fmt.Sprintf("%s: %s >= %.2fx %s (before and after)", st, scenarioSendAdmins, minAdminsRatio, scenarioSendOneAdmin),
				rate(st, scenarioSendAdmins), rate(st, scenarioSendOneAdmin, scenarioSendOneAdminAgain), minAdminsRatio))
		}
	}
	if _, ran := runs[storeNamePostgres]; !ran {
		return out
	}
	locks := target{what: fmt.Sprintf("postgres: backends waiting on a lock during send < %.0f%%", 100*maxLockWaitShare),
		measured: "not measured"}
	for _, r := range runs[storeNamePostgres] {
		if r.name == scenarioSend && r.locks != nil && r.locks.active > 0 {
			locks.measured = fmt.Sprintf("%.1f%%", 100*r.locks.share())
			locks.met, locks.measuredOK = r.locks.share() < maxLockWaitShare, true
		}
	}
	out = append(out, locks)
	if _, ran := runs[storeNameSQLite]; ran {
		out = append(out, ratio(fmt.Sprintf("postgres send >= %.1fx sqlite send", minPostgresRatio),
			rate(storeNamePostgres, scenarioSend), rate(storeNameSQLite, scenarioSend), minPostgresRatio))
	}
	// Two nodes are judged with the database on CPUs of its own when the
	// run could split them: sharing the cores with the database, a second
	// node adds demand for them and no CPU.
	if rate(storeNamePostgres, scenarioSendNodesSplit) > 0 {
		return append(out, ratio(fmt.Sprintf("postgres: %s >= %.1fx %s (taking turns)", scenarioSendNodesSplit, minTwoNodesRatio, scenarioSendSplit),
			rate(storeNamePostgres, scenarioSendNodesSplit), rate(storeNamePostgres, scenarioSendSplit), minTwoNodesRatio))
	}
	return append(out, ratio(fmt.Sprintf("postgres: %s >= %.1fx %s (before and after)", scenarioSendNodes, minTwoNodesRatio, scenarioSend),
		rate(storeNamePostgres, scenarioSendNodes), rate(storeNamePostgres, scenarioSend, scenarioSendOneNodeAgain), minTwoNodesRatio))
}

// printTargets prints the write targets the runs measured, met or not.
func printTargets(out io.Writer, runs map[string][]result) {
	targets := writeTargets(runs)
	if len(targets) == 0 {
		return
	}
	fmt.Fprintln(out, "\nwrite targets:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, t := range targets {
		verdict := "not met"
		switch {
		case !t.measuredOK:
			verdict = "-"
		case t.met:
			verdict = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.what, t.measured, verdict)
	}
	tw.Flush()
}
