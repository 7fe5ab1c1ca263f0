package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// scenario is one kind of request, driven for a fixed time.
type scenario struct {
	name string
	// build returns the next request; rnd is the worker's own generator.
	build func(rnd *rand.Rand) *http.Request
	// want is the status a successful request answers.
	want int
	// prepare, when set, runs (untimed) before the scenario.
	prepare func(ctx context.Context) error
	// splitCPUs runs the scenario with the database's server on CPUs of
	// its own (cpuSplit).
	splitCPUs bool
	// turnsWith, when set, is driven together with this one, taking turns
	// (driveTurns); prepare and splitCPUs are this one's.
	turnsWith *scenario
}

// result is what one scenario measured.
type result struct {
	name             string
	requests, errors int
	elapsed          time.Duration
	reqPerSec        float64
	p50, p95, p99    time.Duration
	rssPeakMB        float64
	firstError       string
	// locks is what PostgreSQL's backends waited on during the scenario,
	// when it was sampled.
	locks *lockSamples
	// cpu is who used the CPUs during the scenario, when measured.
	cpu *cpuUse
}

// drive runs sc with conns concurrent keep-alive clients for d.
func drive(ctx context.Context, client *http.Client, sc scenario, conns int, d time.Duration) result {
	return driveTurns(ctx, client, conns, d, sc)[0]
}

// turns is how many slices of its time each of several scenarios driven
// together gets.
const turns = 5

// driveTurns runs each scenario for d with conns concurrent keep-alive
// clients. Several take turns, d/turns at a time, so that what changes
// over a run (the database grows, PostgreSQL vacuums, checkpoints) weighs
// on each alike; a request counts for the scenario whose turn it started
// and ended in, and one that spans two turns for neither.
func driveTurns(ctx context.Context, client *http.Client, conns int, d time.Duration, scs ...scenario) []result {
	var (
		mu  sync.Mutex
		all = make([][]time.Duration, len(scs))
		res = make([]result, len(scs))
		wg  sync.WaitGroup
	)
	for i, sc := range scs {
		res[i].name = sc.name
	}
	slice := d
	if len(scs) > 1 {
		slice = d / turns
	}
	start := time.Now()
	deadline := start.Add(d * time.Duration(len(scs)))
	turn := func(t time.Time) int { return int(t.Sub(start) / slice) }
	for i := range conns {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, seed*7919+1))
			lat := make([][]time.Duration, len(scs))
			errs := make([]int, len(scs))
			firstErr := make([]string, len(scs))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				k := turn(t0) % len(scs)
				sc := scs[k]
				resp, err := client.Do(sc.build(rnd))
				if err != nil {
					errs[k]++
					if firstErr[k] == "" {
						firstErr[k] = err.Error()
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t1 := time.Now()
				if turn(t1) == turn(t0) {
					lat[k] = append(lat[k], t1.Sub(t0))
				}
				if resp.StatusCode != sc.want {
					errs[k]++
					if firstErr[k] == "" {
						firstErr[k] = fmt.Sprintf("status %d", resp.StatusCode)
					}
				}
			}
			mu.Lock()
			for k := range scs {
				all[k] = append(all[k], lat[k]...)
				res[k].errors += errs[k]
				if res[k].firstError == "" {
					res[k].firstError = firstErr[k]
				}
			}
			mu.Unlock()
		}(uint64(i + 1))
	}
	wg.Wait()
	// What counts is what started and ended within a scenario's turns,
	// which add up to d unless the run was cut short.
	elapsed := min(d, time.Since(start)/time.Duration(len(scs)))
	for k := range res {
		r := &res[k]
		r.elapsed = elapsed
		r.requests = len(all[k])
		r.reqPerSec = float64(r.requests) / elapsed.Seconds()
		if lat := all[k]; len(lat) > 0 {
			slices.Sort(lat)
			r.p50 = lat[len(lat)*50/100]
			r.p95 = lat[len(lat)*95/100]
			r.p99 = lat[len(lat)*99/100]
		}
	}
	return res
}
