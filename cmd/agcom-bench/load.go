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
	var (
		mu  sync.Mutex
		all []time.Duration
		res = result{name: sc.name}
		wg  sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, seed*7919+1))
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			firstErr := ""
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req := sc.build(rnd)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != sc.want {
					errs++
					if firstErr == "" {
						firstErr = fmt.Sprintf("status %d", resp.StatusCode)
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			res.errors += errs
			if res.firstError == "" {
				res.firstError = firstErr
			}
			mu.Unlock()
		}(uint64(i + 1))
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(all)
	res.reqPerSec = float64(res.requests) / res.elapsed.Seconds()
	if len(all) > 0 {
		slices.Sort(all)
		res.p50 = all[len(all)*50/100]
		res.p95 = all[len(all)*95/100]
		res.p99 = all[len(all)*99/100]
	}
	return res
}
