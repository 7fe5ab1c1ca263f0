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
func writeTargets(runs map[string][]result) []target {
	find := func(store, name string) *result {
		for i, r := range runs[store] {
			if r.name == name && r.reqPerSec > 0 {
				return &runs[store][i]
			}
		}
		return nil
	}
	ratio := func(what string, a, b *result, min float64) target {
		if a == nil || b == nil {
			return target{what: what, measured: "not measured"}
		}
		x := a.reqPerSec / b.reqPerSec
		return target{what: what, measured: fmt.Sprintf("%.2fx", x), met: x >= min, measuredOK: true}
	}
	admins := fmt.Sprintf("send (%d admins)", benchAdmins)
	var out []target
	for _, st := range []string{storeNameSQLite, storeNamePostgres} {
		if _, ran := runs[st]; ran {
			out = append(out, ratio(fmt.Sprintf("%s: %s >= %.2fx send", st, admins, minAdminsRatio),
				find(st, admins), find(st, "send"), minAdminsRatio))
		}
	}
	if _, ran := runs[storeNamePostgres]; !ran {
		return out
	}
	locks := target{what: fmt.Sprintf("postgres: backends waiting on a lock during send < %.0f%%", 100*maxLockWaitShare),
		measured: "not measured"}
	if s := find(storeNamePostgres, "send"); s != nil && s.locks != nil && s.locks.active > 0 {
		locks.measured = fmt.Sprintf("%.1f%%", 100*s.locks.share())
		locks.met, locks.measuredOK = s.locks.share() < maxLockWaitShare, true
	}
	out = append(out, locks)
	if _, ran := runs[storeNameSQLite]; ran {
		out = append(out, ratio(fmt.Sprintf("postgres send >= %.1fx sqlite send", minPostgresRatio),
			find(storeNamePostgres, "send"), find(storeNameSQLite, "send"), minPostgresRatio))
	}
	return append(out, ratio(fmt.Sprintf("postgres: send (2 nodes) >= %.1fx send", minTwoNodesRatio),
		find(storeNamePostgres, "send (2 nodes)"), find(storeNamePostgres, "send"), minTwoNodesRatio))
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
