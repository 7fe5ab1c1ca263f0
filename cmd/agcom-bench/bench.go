package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agcom/agcom/internal/auth"
)

const benchSecretKey = "agcom-bench-secret-key-0123456789abcdef"

// The admin agcomd registers at start-up; the "send (200 admins)"
// scenario registers the others through it.
const (
	benchAdmin       = "benchroot"
	benchAdminSecret = "agcom-bench-admin-secret-0123456789abcdef"
	benchAdmins      = 200
)

// bench measures o.store and returns the scenarios' results.
func bench(ctx context.Context, o options, out io.Writer) ([]result, error) {
	dir := o.workDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "agcom-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	dbPath := filepath.Join(dir, "agcom.db")

	fmt.Fprintf(out, "seeding %d agents, %d threads, %d messages ...\n", o.agents, o.threads, o.messages)
	t0 := time.Now()
	data, err := seed(ctx, dbPath, o)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(out, "seeded in %s (%.0f messages/s)\n", time.Since(t0).Round(time.Millisecond),
		float64(o.messages)/time.Since(t0).Seconds())

	bin := o.agcomd
	if bin == "" {
		bin = filepath.Join(dir, "agcomd")
		build := exec.CommandContext(ctx, "go", "build", "-tags", "sqlite_fts5", "-o", bin, "./cmd/agcomd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build agcomd (run from the module root): %w", err)
		}
	}

	env := []string{"DB_PATH=" + dbPath, "ADMIN_HANDLE=" + benchAdmin, "ADMIN_SECRET=" + benchAdminSecret}
	if o.store == "postgres" {
		t0 := time.Now()
		cp := exec.CommandContext(ctx, bin, "copy", "--from", "sqlite://"+dbPath, "--to", o.databaseURL)
		cp.Dir, cp.Stdout, cp.Stderr = dir, io.Discard, os.Stderr
		if err := cp.Run(); err != nil {
			return nil, fmt.Errorf("agcomd copy to PostgreSQL: %w", err)
		}
		fmt.Fprintf(out, "copied to PostgreSQL in %s\n", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		if err := settle(ctx, o.databaseURL); err != nil {
			return nil, fmt.Errorf("vacuum the copy: %w", err)
		}
		fmt.Fprintf(out, "vacuumed and analysed in %s\n", time.Since(t0).Round(time.Millisecond))
		env = append(env, "DATABASE_URL="+o.databaseURL)
	}
	server, startup, err := startAgcomd(ctx, bin, dir, env)
	if err != nil {
		return nil, err
	}
	defer server.stop()
	fmt.Fprintf(out, "agcomd ready in %s on the seeded %s database\n", startup.Round(time.Millisecond), o.store)
	// On PostgreSQL two more nodes on the same database, which share the
	// one node's connections between them (pool_max_conns): nodes add
	// write capacity only when nothing but the database bounds them, and
	// a deployment sizes its pools to its database, not to its nodes.
	var pair []string
	servers := []*process{server}
	if o.store == "postgres" {
		half, err := withPoolSize(o.databaseURL, pairMaxConns)
		if err != nil {
			return nil, err
		}
		for range 2 {
			node, _, err := startAgcomd(ctx, bin, dir, append(slices.Clone(env), "DATABASE_URL="+half))
			if err != nil {
				return nil, fmt.Errorf("a node of the pair: %w", err)
			}
			defer node.stop()
			pair, servers = append(pair, node.url), append(servers, node)
		}
	}

	baseline, err := startBaseline(ctx)
	if err != nil {
		return nil, err
	}
	defer baseline.stop()

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: o.conns * 2, MaxIdleConnsPerHost: o.conns * 2, IdleConnTimeout: time.Minute},
		Timeout:   30 * time.Second,
	}
	keys, err := auth.NewKeys(benchSecretKey)
	if err != nil {
		return nil, err
	}
	tokens := make([]string, o.agents)
	for i := range tokens {
		if tokens[i], err = keys.Mint(agentName(i), "", 24*time.Hour, time.Now()); err != nil {
			return nil, err
		}
	}

	// Who uses the CPUs during sends: the nodes, the database's server
	// and backends, and this load generator.
	cpuGroups := []cpuGroup{{name: "agcomd", pids: func() []int { return pids(servers) }}}
	var split *cpuSplit
	if o.store == "postgres" {
		if pg := postgresServer(ctx, o.databaseURL); pg != 0 {
			cpuGroups = append(cpuGroups, cpuGroup{name: "postgres", pids: childrenOf(pg)})
			if o.splitCPUs {
				split, err = newCPUSplit(childrenOf(pg), func() []int { return append(pids(servers), os.Getpid()) })
				if err != nil {
					fmt.Fprintf(out, "the scenarios with the database on CPUs of its own are skipped: %v\n", err)
				}
			}
		}
	}
	if split != nil {
		defer split.undo() //nolint:errcheck // on the way out after an error
	}
	cpuGroups = append(cpuGroups, cpuGroup{name: "load generator", pids: func() []int { return []int{os.Getpid()} }})

	var results []result
	checkpoints := true
	base := drive(ctx, client, scenario{name: "bare baseline (300-byte JSON)", want: http.StatusOK,
		build: func(*rand.Rand) *http.Request { return mustRequest(http.MethodGet, baseline.url+"/", "", "") }},
		o.conns, o.duration)
	base.rssPeakMB = baseline.peakRSSMB()
	results = append(results, base)

	for _, sc := range scenarios(server.url, pair, data, tokens, client) {
		if o.only != "" && !strings.Contains(sc.name, o.only) {
			continue
		}
		if sc.prepare != nil {
			if err := sc.prepare(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.name, err)
			}
		}
		if sc.splitCPUs {
			if split == nil {
				continue
			}
			if err := split.apply(); err != nil {
				fmt.Fprintf(out, "%s: skipped: %v\n", sc.name, errors.Join(err, split.undo()))
				continue
			}
		}
		var (
			sampler *lockSampler
			cpu     *cpuMeter
		)
		if strings.HasPrefix(sc.name, "send") {
			if o.store == "postgres" && checkpoints {
				if err := checkpoint(ctx, o.databaseURL); err != nil {
					fmt.Fprintf(out, "sends start without a checkpoint: %v\n", err)
					checkpoints = false
				}
			}
			if o.store == "postgres" {
				if sampler, err = startLockSampler(ctx, o.databaseURL); err != nil {
					return nil, err
				}
			}
			cpu = startCPU(cpuGroups...)
		}
		group := []scenario{sc}
		if sc.turnsWith != nil {
			group = append(group, *sc.turnsWith)
		}
		rs := driveTurns(ctx, client, o.conns, o.duration, group...)
		// Scenarios that took turns share what was measured around them.
		use := cpu.stop()
		var locks *lockSamples
		if sampler != nil {
			locks = sampler.stop()
		}
		for i := range rs {
			rs[i].rssPeakMB, rs[i].cpu, rs[i].locks = server.peakRSSMB(), use, locks
		}
		if sc.splitCPUs {
			if err := split.undo(); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.name, err)
			}
		}
		results = append(results, rs...)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	printTable(out, results, base.reqPerSec, o)
	printSends(out, results)
	if o.only == "" || strings.Contains("fan-out", o.only) {
		fo, err := fanout(ctx, server.url+"/api/v1", tokens, o.subscribers, o.fanoutRate, o.duration)
		fmt.Fprintf(out, "\nfan-out: %d SSE subscribers, %d messages/s for %s: %d of %d delivered, p50 %s, p99 %s, server peak RSS %.1f MB\n",
			fo.subscribers, fo.rate, o.duration, fo.delivered, fo.sent, fo.p50.Round(10*time.Microsecond),
			fo.p99.Round(10*time.Microsecond), server.peakRSSMB())
		if err != nil {
			return nil, err
		}
	}
	if o.only == "" || strings.Contains("attachments", o.only) {
		at, err := attachmentThroughput(ctx, server.url+"/api/v1", tokens, o.attachmentClients, o.attachmentBytes, dir)
		fmt.Fprintf(out, "\nattachments: %d clients, one %d MiB file each: upload %.0f MB/s, download %.0f MB/s; plain file copy (with fsync) on the same disk %.0f MB/s; server peak RSS %.1f MB\n",
			at.clients, at.fileBytes>>20, at.uploadMBps, at.downloadMBps, at.copyMBps, server.peakRSSMB())
		if err != nil {
			return nil, err
		}
	}
	for _, r := range results {
		if r.errors > 0 {
			return nil, fmt.Errorf("%s: %d errors (first: %s)", r.name, r.errors, r.firstError)
		}
	}
	return results, nil
}

// scenarios are the requests the benchmark measures, each against data the
// caller can see, on the node at node; sends are measured on the nodes of
// pair too when there is one.
func scenarios(node string, pair []string, d *seedData, tokens []string, client *http.Client) []scenario {
	api := node + "/api/v1"
	agent := func(rnd *rand.Rand) int { return rnd.IntN(len(tokens)) }
	thread := func(rnd *rand.Rand) *seedThread { return &d.threads[rnd.IntN(len(d.threads))] }
	word := func(rnd *rand.Rand) string { return vocabulary[rnd.IntN(len(vocabulary))] }
	sendTo := func(rnd *rand.Rand, api string) *http.Request {
		from, to := agent(rnd), agent(rnd)
		body := fmt.Sprintf(`{"to_handles":[%q],"subject":"bench %s","body":"%s %s %s"}`,
			agentName(to), word(rnd), word(rnd), word(rnd), word(rnd))
		return mustRequest(http.MethodPost, api+"/messages", tokens[from], body)
	}
	send := func(rnd *rand.Rand) *http.Request { return sendTo(rnd, api) }
	// Sends compared with each other are measured back to back, the
	// reference before and after the variant: the database grows and
	// PostgreSQL vacuums during a run, which would otherwise count for or
	// against whichever ran later (see printTargets).
	all := []scenario{{name: scenarioSend, want: http.StatusCreated, build: send}}
	if len(pair) > 0 {
		sendNodes := func(rnd *rand.Rand) *http.Request { return sendTo(rnd, pair[rnd.IntN(len(pair))]+"/api/v1") }
		all = append(all,
			scenario{name: scenarioSendNodes, want: http.StatusCreated, build: sendNodes},
			scenario{name: scenarioSendOneNodeAgain, want: http.StatusCreated, build: send},
			// The same with the database on CPUs of its own, which stands for
			// nodes on machines of their own: then only the database can
			// bound them. One node and two take turns (driveTurns), so that
			// neither meets more of PostgreSQL's background work.
			scenario{name: scenarioSendSplit, want: http.StatusCreated, build: send, splitCPUs: true,
				turnsWith: &scenario{name: scenarioSendNodesSplit, want: http.StatusCreated, build: sendNodes}})
	}
	return append(all, []scenario{
		// One thread for three recipients: one message, one audit entry.
		{name: "send to 3", want: http.StatusCreated, build: func(rnd *rand.Rand) *http.Request {
			to, _ := json.Marshal([]string{agentName(agent(rnd)), agentName(agent(rnd)), agentName(agent(rnd))})
			body := fmt.Sprintf(`{"to_handles":%s,"subject":"bench %s","body":"%s %s"}`, to, word(rnd), word(rnd), word(rnd))
			return mustRequest(http.MethodPost, api+"/messages", tokens[agent(rnd)], body)
		}},
		{name: "reply", want: http.StatusCreated, build: func(rnd *rand.Rand) *http.Request {
			th := thread(rnd)
			body := fmt.Sprintf(`{"body":"re: %s %s"}`, word(rnd), word(rnd))
			return mustRequest(http.MethodPost, api+"/messages/"+th.firstMessage+"/reply", tokens[th.participants[1]], body)
		}},
		{name: "get message", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			th := thread(rnd)
			return mustRequest(http.MethodGet, api+"/messages/"+th.firstMessage, tokens[th.participants[0]], "")
		}},
		{name: "inbox (GET /threads?limit=50)", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			return mustRequest(http.MethodGet, api+"/threads?limit=50", tokens[agent(rnd)], "")
		}},
		{name: "thread messages", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			th := thread(rnd)
			return mustRequest(http.MethodGet, api+"/threads/"+th.id+"/messages?limit=50", tokens[th.participants[0]], "")
		}},
		{name: "message list", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			return mustRequest(http.MethodGet, api+"/messages?limit=50", tokens[agent(rnd)], "")
		}},
		{name: "search (3+ chars)", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			return mustRequest(http.MethodGet, api+"/messages/search?limit=50&query="+url.QueryEscape(word(rnd)), tokens[agent(rnd)], "")
		}},
		{name: "search (1-2 chars)", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			w := word(rnd)
			return mustRequest(http.MethodGet, api+"/messages/search?limit=50&query="+url.QueryEscape(w[:2]), tokens[agent(rnd)], "")
		}},
		{name: "contacts list", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			return mustRequest(http.MethodGet, api+"/contacts?limit=50&offset="+strconv.Itoa(rnd.IntN(10)*50), tokens[agent(rnd)], "")
		}},
		{name: "audit list", want: http.StatusOK, build: func(rnd *rand.Rand) *http.Request {
			return mustRequest(http.MethodGet, api+"/audit/events?limit=50", tokens[agent(rnd)], "")
		}},
		// Last, so that the other scenarios run with one admin. What a send
		// costs must not depend on how many admins there are.
		{name: scenarioSendOneAdmin, want: http.StatusCreated, build: send},
		{name: scenarioSendAdmins, want: http.StatusCreated, build: send,
			prepare: func(ctx context.Context) error { return setAdmins(ctx, client, api, benchAdmins-1, true) }},
		{name: scenarioSendOneAdminAgain, want: http.StatusCreated, build: send,
			prepare: func(ctx context.Context) error { return setAdmins(ctx, client, api, benchAdmins-1, false) }},
	}...)
}

// The send scenarios the write targets compare.
var (
	scenarioSend              = "send"
	scenarioSendNodes         = "send (2 nodes)"
	scenarioSendOneNodeAgain  = "send (1 node, again)"
	scenarioSendSplit         = "send (database on its own CPUs)"
	scenarioSendNodesSplit    = "send (2 nodes, database on its own CPUs)"
	scenarioSendOneAdmin      = "send (1 admin)"
	scenarioSendAdmins        = fmt.Sprintf("send (%d admins)", benchAdmins)
	scenarioSendOneAdminAgain = "send (1 admin, again)"
)

// pairMaxConns is the pool size of each node of the pair: half of a node's
// default (internal/store/postgres).
const pairMaxConns = 8

// withPoolSize is the PostgreSQL URL u with its pool size set to n.
func withPoolSize(u string, n int) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("--database-url: %w", err)
	}
	q := parsed.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	parsed.RawQuery = q.Encode()
	return parsed.String(), nil
}

// setAdmins registers n more admins through the admin API, as the admin
// agcomd registered at start-up; or, with admin false, makes those n no
// longer admins.
func setAdmins(ctx context.Context, client *http.Client, api string, n int, admin bool) error {
	call := func(method, path, token, body string, want int, out any) error {
		req := mustRequest(method, api+path, token, body).WithContext(ctx)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	err := call(http.MethodPost, "/auth/token", "", fmt.Sprintf(`{"agent_handle":%q,"agent_secret":%q}`, benchAdmin, benchAdminSecret),
		http.StatusOK, &login)
	if err != nil {
		return err
	}
	// A few at a time: registering one hashes a new secret.
	const workers = 4
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				handle := fmt.Sprintf("benchadmin%03d", i)
				var err error
				if admin {
					body := fmt.Sprintf(`{"handle":%q,"is_admin":true}`, handle)
					err = call(http.MethodPost, "/admin/agents", login.AccessToken, body, http.StatusCreated, nil)
				} else {
					err = call(http.MethodPatch, "/admin/agents/"+handle, login.AccessToken, `{"is_admin":false}`, http.StatusOK, nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// printSends says, for each send scenario, what PostgreSQL's backends
// waited on and who used the CPUs (the write targets compare the
// throughputs: printTargets).
func printSends(out io.Writer, results []result) {
	fmt.Fprintln(out)
	for _, r := range results {
		if !strings.HasPrefix(r.name, "send") {
			continue
		}
		if l := r.locks; l != nil {
			fmt.Fprintf(out, "%s: PostgreSQL backends waiting on a lock in %.1f%% of %d active-backend samples (%d samples, %.1f active on average)\n",
				r.name, 100*l.share(), l.active, l.samples, float64(l.active)/float64(max(l.samples, 1)))
		}
		if r.cpu != nil {
			fmt.Fprintf(out, "%s: %s\n", r.name, r.cpu)
		}
	}
}

func mustRequest(method, u, token, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		panic(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func printTable(out io.Writer, results []result, baseRPS float64, o options) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) }
	header := []string{"scenario", "req/s", "x baseline", "p50 ms", "p95 ms", "p99 ms", "errors", "server peak RSS MB"}
	rows := [][]string{}
	for _, r := range results {
		rows = append(rows, []string{r.name, strconv.FormatFloat(r.reqPerSec, 'f', 0, 64),
			strconv.FormatFloat(r.reqPerSec/baseRPS, 'f', 2, 64), ms(r.p50), ms(r.p95), ms(r.p99),
			strconv.Itoa(r.errors), strconv.FormatFloat(r.rssPeakMB, 'f', 1, 64)})
	}
	fmt.Fprintf(out, "\n%s store: %d agents, %d threads, %d messages; %d connections; %s per scenario\n\n", o.store,
		o.agents, o.threads, o.messages, o.conns, o.duration)
	if o.markdown {
		fmt.Fprintln(out, "| "+strings.Join(header, " | ")+" |")
		fmt.Fprintln(out, "|"+strings.Repeat("---|", len(header)))
		for _, row := range rows {
			fmt.Fprintln(out, "| "+strings.Join(row, " | ")+" |")
		}
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
}

// pids are the process ids of ps.
func pids(ps []*process) []int {
	out := make([]int, 0, len(ps))
	for _, p := range ps {
		if p.cmd.Process != nil {
			out = append(out, p.cmd.Process.Pid)
		}
	}
	return out
}

// process is a server the benchmark started.
type process struct {
	cmd *exec.Cmd
	url string
}

func (p *process) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
		}
	}
}

// peakRSSMB reads the process's peak resident set (VmHWM) from /proc.
func (p *process) peakRSSMB() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startAgcomd starts the server on dbPath and returns it once ready, with
// the time start-up took.
func startAgcomd(ctx context.Context, bin, dir string, env []string) (*process, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...),
		"SECRET_KEY="+benchSecretKey, "PORT="+strconv.Itoa(port), "HOST=127.0.0.1",
		"METRICS_ADDR=", // no metrics listener: a server already running may hold its port
		"RATE_LIMIT_ENABLED=false", "LOG_LEVEL=INFO")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	p := &process{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := waitReady(ctx, p.url+"/api/v1/health/ready"); err != nil {
		p.stop()
		return nil, 0, err
	}
	return p, time.Since(start), nil
}

// startBaseline starts this program as the bare baseline server.
func startBaseline(ctx context.Context) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.CommandContext(ctx, self, "-serve-baseline", addr)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, url: "http://" + addr}
	if err := waitReady(ctx, p.url+"/"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func waitReady(ctx context.Context, u string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become ready", u)
}

// baselineBody is a fixed 300-byte JSON document.
var baselineBody = func() []byte {
	doc := map[string]string{"message_id": "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", "thread_id": "01J9ZQ4W4S3N0C5Q6Q9D8V7T2J",
		"from_handle": "alice", "subject": "Hello"}
	b, _ := json.Marshal(doc)
	pad := 300 - len(b) - len(`,"body":""`)
	doc["body"] = strings.Repeat("x", pad)
	b, _ = json.Marshal(doc)
	return b
}()

// serveBaseline is the bare net/http handler every scenario is compared to.
func serveBaseline(addr string) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(baselineBody)
	})
	if err := http.ListenAndServe(addr, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
