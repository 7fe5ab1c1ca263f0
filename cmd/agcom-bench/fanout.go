package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutResult is what the live-delivery scenario measured.
type fanoutResult struct {
	subscribers, sent, delivered int
	rate                         int
	p50, p99                     time.Duration
}

// fanout holds one Server-Sent Events stream open per subscriber, sends
// messages at a steady rate from one sender to random subscribers, and
// measures the time from each send to its arrival on the recipient's
// stream.
func fanout(ctx context.Context, api string, tokens []string, subscribers, rate int, d time.Duration) (fanoutResult, error) {
	subscribers = min(subscribers, len(tokens)-1)
	res := fanoutResult{subscribers: subscribers, rate: rate}
	streams := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: subscribers + 16}}
	var (
		sentAt    sync.Map // message body -> time.Time
		mu        sync.Mutex
		latencies []time.Duration
		ready     sync.WaitGroup
		delivered atomic.Int64
	)
	streamCtx, stop := context.WithCancel(ctx)
	defer stop()
	var done sync.WaitGroup
	for i := 1; i <= subscribers; i++ {
		ready.Add(1)
		done.Add(1)
		go func(token string) {
			defer done.Done()
			req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, api+"/events/stream", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := streams.Do(req)
			if err != nil {
				ready.Done()
				return
			}
			defer resp.Body.Close()
			r := bufio.NewReader(resp.Body)
			signalled := false
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					if !signalled {
						ready.Done()
					}
					return
				}
				if !signalled && strings.HasPrefix(line, "retry:") {
					signalled = true
					ready.Done()
				}
				data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
				if !ok {
					continue
				}
				var ev struct {
					Type string `json:"type"`
					Data struct {
						Message struct {
							Body string `json:"body"`
						} `json:"message"`
					} `json:"data"`
				}
				if json.Unmarshal([]byte(data), &ev) != nil || ev.Type != "message.created" {
					continue
				}
				if t, ok := sentAt.Load(ev.Data.Message.Body); ok {
					lat := time.Since(t.(time.Time))
					delivered.Add(1)
					mu.Lock()
					latencies = append(latencies, lat)
					mu.Unlock()
				}
			}
		}(tokens[i])
	}
	ready.Wait()

	// The sender (tokens[0]) is not a subscriber: each message arrives on
	// exactly one stream, its recipient's.
	sender := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	deadline := time.Now().Add(d)
	rnd := rand.New(rand.NewPCG(7, 11))
	var sends sync.WaitGroup
	for n := 0; time.Now().Before(deadline); n++ {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		to := 1 + rnd.IntN(subscribers)
		body := "fanout " + strconv.Itoa(n)
		sentAt.Store(body, time.Now())
		res.sent++
		sends.Add(1)
		go func(to int, body string) {
			defer sends.Done()
			req := mustRequest(http.MethodPost, api+"/messages", tokens[0],
				fmt.Sprintf(`{"to_handles":[%q],"subject":"fanout","body":%q}`, agentName(to), body))
			resp, err := sender.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}(to, body)
	}
	sends.Wait()
	// Let the last events arrive.
	for wait := time.Now().Add(5 * time.Second); int(delivered.Load()) < res.sent && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	done.Wait()
	res.delivered = int(delivered.Load())
	if len(latencies) > 0 {
		slices.Sort(latencies)
		res.p50 = latencies[len(latencies)*50/100]
		res.p99 = latencies[len(latencies)*99/100]
	}
	if res.delivered < res.sent {
		return res, fmt.Errorf("fan-out: %d of %d messages were not delivered", res.sent-res.delivered, res.sent)
	}
	return res, nil
}
