package tests

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/config"
)

// hardQueryEscape turns arbitrary bytes into a valid query string: it keeps
// the characters a query may hold as they are (so '&', '=' and ',' still
// structure it, and well-formed %XX escapes decode to any byte, invalid
// UTF-8 included) and escapes the rest.
func hardQueryEscape(q string) string {
	const keep = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~&=,+:@/?!$'()*;"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%' && i+2 < len(q) && hardIsHex(q[i+1]) && hardIsHex(q[i+2]):
			b.WriteByte(c)
		case strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

func hardIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// FuzzHTTP sends arbitrary path values, query strings and bodies to every
// operation of the spec, as an ordinary agent or an admin. The server must
// never answer 5xx, and every 4xx must be the JSON error envelope.
func FuzzHTTP(f *testing.F) {
	ops := hardOperations(f)
	s := hardBoot(f, hardWithAdmin, func(c *config.Config) {
		c.LogLevel = slog.LevelError // keep the log small; 5xx are logged
		c.MaxBodyBytes = 16 << 10
	})
	tokens := map[bool]string{false: s.hardToken(f, "fuzzer"), true: s.hardToken(f, hardAdminHandle)}

	// Real ids, so that some inputs reach the store.
	resp, body := hardDo(f, nil, "POST", s.URL+"/api/v1/messages", tokens[false],
		strings.NewReader(hardSendBody("fuzzer", "seed thread", "seed body")), nil)
	var m struct {
		MessageID string `json:"message_id"`
		ThreadID  string `json:"thread_id"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(body, &m) != nil {
		f.Fatalf("seed message: status %d, body %s", resp.StatusCode, body)
	}

	for i, op := range ops {
		valid := ""
		if op.Body != nil {
			b, _ := json.Marshal(hardExample(op.Body))
			valid = string(b)
		}
		pathArg := "01J9ZQ4W4S3N0C5Q6Q9D8V7T2K"
		switch {
		case strings.Contains(op.Path, "{message_id}"):
			pathArg = m.MessageID
		case strings.Contains(op.Path, "{thread_id}"):
			pathArg = m.ThreadID
		case strings.Contains(op.Path, "{handle}"):
			pathArg = "fuzzer"
		}
		n := uint8(i)
		f.Add(n, pathArg, "", []byte(valid), false)
		f.Add(n, pathArg, "limit=1&offset=0&query=seed", []byte(valid), true)
		f.Add(n, "not-a-ulid", "limit=-1&offset=abc&archived=maybe&tags=A,,b", []byte(`{"`), false)
		f.Add(n, "", "query=%ff%fe&in_subject=false&in_body=false", []byte("\xff\xfe\x00"), true)
		f.Add(n, "..", "tags="+strings.Repeat("t,", 30), []byte(`[]`), false)
		f.Add(n, pathArg+"%00", "query=a%00b&key=%00", []byte(`{"to_handles":["bob"],"subject":"s\u0000","body":"\u0000","key":"k\u0000","value":"\u0000","handle":"dave","display_name":"\u0000"}`), false)
		f.Add(n, strings.Repeat("a", 300), "limit=1e3&offset=99999999999999999999", []byte(`{"to_handles":null,"body":{},"key":[]}`), true)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, opIndex uint8, pathArg, query string, body []byte, asAdmin bool) {
		s.srv.ReportTo(t) // an answer openapi.yaml does not allow fails this input
		op := ops[int(opIndex)%len(ops)]
		path := "/api/v1" + op.Path
		for _, p := range op.Params {
			if p.In == "path" {
				path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(pathArg))
			}
		}
		target := s.URL + path
		if query != "" {
			target += "?" + hardQueryEscape(query)
		}
		req, err := http.NewRequest(op.Method, target, bytes.NewReader(body))
		if err != nil {
			t.Skipf("not a request the client can send: %v", err)
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+tokens[asAdmin])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", op.Method, target, err)
		}
		defer resp.Body.Close()
		var got bytes.Buffer
		got.ReadFrom(resp.Body)

		what := op.Method + " " + target
		if resp.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID", what)
		}
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("%s (body %q): status %d: %s\nserver log:\n%s", what, body, resp.StatusCode, got.Bytes(), s.Logs.String())
		case resp.StatusCode >= 400:
			if p := hardEnvelopeProblem(resp, got.Bytes()); p != "" {
				t.Fatalf("%s (body %q): status %d: %s; body %s", what, body, resp.StatusCode, p, got.Bytes())
			}
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			if !json.Valid(got.Bytes()) {
				t.Fatalf("%s: status %d with a body that is not JSON: %q", what, resp.StatusCode, got.Bytes())
			}
		default:
			t.Fatalf("%s: unexpected status %d", what, resp.StatusCode)
		}
	})
}
