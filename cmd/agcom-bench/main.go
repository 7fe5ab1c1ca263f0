// Command agcom-bench measures a real agcomd: it seeds a temporary database
// through the store, starts the server on it (rate limits off), drives the
// HTTP API with concurrent keep-alive clients for a fixed time per scenario,
// and prints requests/s, latency percentiles, errors and the server's peak
// memory. A bare net/http baseline, driven the same way in the same run,
// gives each scenario a ratio that survives a noisy machine.
//
//	go run -tags sqlite_fts5 ./cmd/agcom-bench            # full: 1,000 agents, 100,000 threads, 1,000,000 messages
//	go run -tags sqlite_fts5 ./cmd/agcom-bench --quick    # small data, 2 s per scenario
//	go run -tags sqlite_fts5 ./cmd/agcom-bench --store postgres --database-url postgres://…
//	go run -tags sqlite_fts5 ./cmd/agcom-bench --store sqlite,postgres --database-url postgres://…
//
// On PostgreSQL the data is seeded into SQLite (the fast path) and moved
// with `agcomd copy`, as an operator would; the scenarios are the same.
// With both stores the run ends with the write targets that compare them
// (see printTargets).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	agents, threads, messages int
	conns                     int
	duration                  time.Duration
	agcomd                    string
	workDir                   string
	markdown                  bool
	only                      string
	subscribers, fanoutRate   int
	// store is "sqlite" or "postgres", the one being measured; stores
	// all those the run measures, in order. databaseURL names an empty
	// PostgreSQL database for the latter.
	store       string
	stores      []string
	databaseURL string
	// splitCPUs lets the benchmark pin the database's server (found
	// through its backend's parent process) to half the CPUs for the
	// scenarios that ask for it: only for a server of its own.
	splitCPUs bool
	// attachmentClients upload (then download) one file of
	// attachmentBytes each, side by side.
	attachmentClients int
	attachmentBytes   int64
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-serve-baseline" {
		serveBaseline(os.Args[2])
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agcom-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("agcom-bench", flag.ContinueOnError)
	var o options
	quick := fs.Bool("quick", false, "small data set and 2 s per scenario (for CI)")
	fs.IntVar(&o.agents, "agents", 1000, "agents to seed")
	fs.IntVar(&o.threads, "threads", 100_000, "threads to seed")
	fs.IntVar(&o.messages, "messages", 1_000_000, "messages to seed (at least one per thread)")
	fs.IntVar(&o.conns, "conns", 64, "concurrent keep-alive clients")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario runs")
	fs.StringVar(&o.agcomd, "agcomd", "", "agcomd binary to measure (default: build ./cmd/agcomd)")
	fs.StringVar(&o.workDir, "dir", "", "working directory for the database (default: a temporary one, removed after)")
	fs.BoolVar(&o.markdown, "markdown", false, "print the table as Markdown")
	fs.StringVar(&o.only, "only", "", "run only the scenarios whose names contain this")
	fs.IntVar(&o.subscribers, "subscribers", 1000, "Server-Sent Events subscribers in the fan-out scenario")
	fs.IntVar(&o.fanoutRate, "fanout-rate", 500, "messages per second sent in the fan-out scenario")
	stores := fs.String("store", "sqlite", "stores to measure, one after the other: sqlite, postgres or sqlite,postgres")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"),
		"an empty PostgreSQL database for --store postgres (default $DATABASE_URL)")
	fs.BoolVar(&o.splitCPUs, "split-cpus", false,
		"PostgreSQL on this machine, started for the benchmark: also measure sends with its server pinned to half the CPUs (Linux; needs the right to set its CPU affinity)")
	fs.IntVar(&o.attachmentClients, "attachment-clients", 20, "clients that upload, then download, one file each at once")
	attachmentMiB := fs.Int("attachment-mib", 25, "MiB of each file in the attachments scenario")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, st := range strings.Split(*stores, ",") {
		switch {
		case st != "sqlite" && st != "postgres", slices.Contains(o.stores, st):
			return fmt.Errorf("--store: sqlite, postgres or sqlite,postgres, got %q", *stores)
		case st == "postgres" && o.databaseURL == "":
			return fmt.Errorf("--store postgres needs --database-url or DATABASE_URL (an empty database)")
		}
		o.stores = append(o.stores, st)
	}
	if *quick {
		o.agents, o.threads, o.messages, o.duration = 50, 500, 5000, 2*time.Second
		o.subscribers, o.fanoutRate = 40, 100
		o.attachmentClients, *attachmentMiB = 4, 5
		if o.conns > 16 {
			o.conns = 16
		}
	}
	o.attachmentBytes = int64(*attachmentMiB) << 20
	if o.messages < o.threads || o.threads < 1 || o.agents < 3 {
		return fmt.Errorf("need agents >= 3, threads >= 1 and messages >= threads")
	}
	runs := map[string][]result{}
	for _, st := range o.stores {
		if len(o.stores) > 1 {
			fmt.Fprintf(out, "\n== %s ==\n", st)
		}
		o.store = st
		results, err := bench(ctx, o, out)
		if err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
		runs[st] = results
	}
	printTargets(out, runs)
	return nil
}
