package tests

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/agcom/agcom/internal/testdb"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/auth"
)

// hardProc is a running agcomd process.
type hardProc struct {
	cmd  *exec.Cmd
	url  string
	logs *hardLogBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done is closed
}

// hardDatabaseURLs gives each database path of a test its own PostgreSQL
// schema when the tests run on PostgreSQL, so that a restart on the same
// path finds the same data.
var hardDatabaseURLs sync.Map

// hardDatabaseURL is the DATABASE_URL standing for dbPath: empty on SQLite.
func hardDatabaseURL(t *testing.T, dbPath string) string {
	if !testdb.Postgres() {
		return ""
	}
	if u, ok := hardDatabaseURLs.Load(dbPath); ok {
		return u.(string)
	}
	u := testdb.PostgresURL(t)
	hardDatabaseURLs.Store(dbPath, u)
	return u
}

// hardStartAgcomd starts the real binary serving dbPath on a free port,
// with rate limits off, and waits until it is ready.
func hardStartAgcomd(t *testing.T, dbPath string) *hardProc {
	t.Helper()
	p := hardSpawnAgcomd(t, filepath.Dir(dbPath),
		"DB_PATH="+dbPath,
		"DATABASE_URL="+hardDatabaseURL(t, dbPath),
		"RATE_LIMIT_ENABLED=false",
		"SHUTDOWN_TIMEOUT_SECONDS=10")
	p.hardWaitReady(t, "agcomd")
	return p
}

// hardSpawnAgcomd starts the real binary in dir (which must hold no .env)
// with the test key, a free port, no metrics listener (processes running
// at once would all want the default port), INFO logs and env, and kills
// it when the test ends. It does not wait for it to be ready.
func hardSpawnAgcomd(t *testing.T, dir string, env ...string) *hardProc {
	t.Helper()
	port := hardFreePort(t)
	cmd := exec.Command(hardAgcomd(t))
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"SECRET_KEY=" + testSecretKey,
		"HOST=127.0.0.1",
		"PORT=" + strconv.Itoa(port),
		"METRICS_ADDR=",
		"LOG_LEVEL=INFO",
	}, env...)
	p := &hardProc{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port), logs: &hardLogBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agcomd: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// hardWaitReady waits until the process answers /health/ready with 200;
// name says which process in failures.
func (p *hardProc) hardWaitReady(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, p.err, p.logs.String())
		default:
		}
		resp, _, err := hardTry(nil, "GET", p.url+"/api/v1/health/ready", "", nil, nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 15 s (last error %v)\n%s", name, err, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hardWaitExit waits up to d for the process to exit and returns its exit
// code.
func (p *hardProc) hardWaitExit(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("agcomd still running %v after the signal\n%s", d, p.logs.String())
	}
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

// hardAck is a message the server acknowledged with 201.
type hardAck struct {
	id, from, body string
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dbPath := filepath.Join(t.TempDir(), "agcom.db")
	p := hardStartAgcomd(t, dbPath)
	keys, err := auth.NewKeys(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}

	const writers = 8
	var (
		mu    sync.Mutex
		acked []hardAck
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	hc := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < writers; w++ {
		from := fmt.Sprintf("writer%d", w)
		tok, err := keys.Mint(from, "", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("%s message %d", from, i)
				resp, b, err := hardTry(hc, "POST", p.url+"/api/v1/messages", tok, strings.NewReader(hardSendBody("reader", "crash test", body)), nil)
				if err != nil {
					// The kill: this request's fate is unknown, so it proves nothing.
					return
				}
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("%s: status %d before the kill; body %s", from, resp.StatusCode, b)
					return
				}
				var m struct {
					MessageID string `json:"message_id"`
				}
				if err := json.Unmarshal(b, &m); err != nil || m.MessageID == "" {
					t.Errorf("%s: 201 without a message id: %s", from, b)
					return
				}
				mu.Lock()
				acked = append(acked, hardAck{id: m.MessageID, from: from, body: body})
				mu.Unlock()
			}
		}()
	}

	time.Sleep(800 * time.Millisecond)
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	p.hardWaitExit(t, 5*time.Second)
	close(stop)
	wg.Wait()
	if n < writers {
		t.Fatalf("only %d messages acknowledged before the kill; the burst did not get going\n%s", n, p.logs.String())
	}
	t.Logf("%d messages acknowledged, %d of them before the kill was sent", len(acked), n)

	// Restart on the same file: every acknowledged message is there.
	p2 := hardStartAgcomd(t, dbPath)
	work := make(chan hardAck)
	var lost []string
	var lostMu sync.Mutex
	var rwg sync.WaitGroup
	for r := 0; r < writers; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			toks := map[string]string{}
			for a := range work {
				tok, ok := toks[a.from]
				if !ok {
					tok, _ = keys.Mint(a.from, "", time.Hour, time.Now())
					toks[a.from] = tok
				}
				resp, b, err := hardTry(hc, "GET", p2.url+"/api/v1/messages/"+a.id, tok, nil, nil)
				var m struct {
					Body string `json:"body"`
				}
				switch {
				case err != nil:
					t.Errorf("GET /messages/%s after restart: %v", a.id, err)
				case resp.StatusCode != http.StatusOK:
					lostMu.Lock()
					lost = append(lost, fmt.Sprintf("%s (status %d: %s)", a.id, resp.StatusCode, b))
					lostMu.Unlock()
				case json.Unmarshal(b, &m) != nil || m.Body != a.body:
					t.Errorf("message %s after restart: body %q, want %q", a.id, m.Body, a.body)
				}
			}
		}()
	}
	for _, a := range acked {
		work <- a
	}
	close(work)
	rwg.Wait()
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged messages are gone after SIGKILL and restart, e.g. %v", len(lost), len(acked), lost[:min(3, len(lost))])
	}
}

func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	dbPath := filepath.Join(t.TempDir(), "agcom.db")
	p := hardStartAgcomd(t, dbPath)
	keys, err := auth.NewKeys(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := keys.Mint("alice", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// Begin a request: headers and half the body, so that the server is
	// inside it when the signal comes.
	body := hardSendBody("bob", "in flight", "sent across a SIGTERM")
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/messages HTTP/1.1\r\nHost: agcom\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tok, len(body), body[:len(body)/2])
	time.Sleep(200 * time.Millisecond)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-p.done:
		t.Fatalf("agcomd exited with a request in flight: %v\n%s", p.err, p.logs.String())
	default:
	}
	// It no longer accepts new connections.
	if resp, _, err := hardTry(&http.Client{Timeout: 2 * time.Second}, "GET", p.url+"/api/v1/health", "", nil, nil); err == nil {
		t.Errorf("new request after SIGTERM: status %d, want the connection refused", resp.StatusCode)
	}

	// Finish the request: it is served in full.
	if _, err := io.WriteString(conn, body[len(body)/2:]); err != nil {
		t.Fatalf("finish the request: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("response to the in-flight request: %v\n%s", err, p.logs.String())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("in-flight request: status %d, want 201; body %s", resp.StatusCode, b)
	}

	if code := p.hardWaitExit(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.logs.String())
	}
	logs := p.logs.String()
	for _, want := range []string{"shutting down", "agcomd stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log has no %q line:\n%s", want, logs)
		}
	}

	// The message was committed: a restart serves it.
	var m struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.MessageID == "" {
		t.Fatalf("in-flight response is not a message: %s", b)
	}
	p2 := hardStartAgcomd(t, dbPath)
	if resp, b, err := hardTry(nil, "GET", p2.url+"/api/v1/messages/"+m.MessageID, tok, nil, nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("message sent across the SIGTERM, after restart: %v %v %s", err, resp, b)
	}
}
