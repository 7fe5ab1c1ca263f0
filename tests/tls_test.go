package tests

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testserver"
)

// tlsFiles are a certificate and key file pair, as an operator keeps them.
type tlsFiles struct{ cert, key string }

func newTLSFiles(dir string) tlsFiles {
	return tlsFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
}

// env is the configuration naming the files.
func (f tlsFiles) env() map[string]string {
	return map[string]string{"TLS_CERT_FILE": f.cert, "TLS_KEY_FILE": f.key}
}

// write replaces the files with a new self-signed certificate for
// 127.0.0.1 and localhost, named cn, and returns it.
func (f tlsFiles) write(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsClient trusts roots only; a client of its own keeps its connections
// apart from every other's.
func tlsClient(roots ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// tlsHealth asks url for its liveness with hc, and returns the certificate
// the server showed and whether the connection had served a request before.
func tlsHealth(t *testing.T, hc *http.Client, url string) (cert *x509.Certificate, reused bool) {
	t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", url+"/api/v1/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s/api/v1/health: %v", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/api/v1/health: status %d", url, resp.StatusCode)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatalf("GET %s/api/v1/health: not over TLS", url)
	}
	if resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %x, want 1.2 or newer", resp.TLS.Version)
	}
	return resp.TLS.PeerCertificates[0], reused
}

// tlsNewConnection is the certificate a new connection to url sees.
func tlsNewConnection(t *testing.T, url string, roots ...*x509.Certificate) *x509.Certificate {
	t.Helper()
	hc := tlsClient(roots...)
	defer hc.CloseIdleConnections()
	cert, _ := tlsHealth(t, hc, url)
	return cert
}

// tlsWantRefused checks that a client offering TLS 1.0 and 1.1 only gets
// no answer from url.
func tlsWantRefused(t *testing.T, url string) {
	t.Helper()
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true,
	}}}
	resp, err := old.Get(url + "/api/v1/health")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a client capped at TLS 1.1 got status %d, want the handshake refused", resp.StatusCode)
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("TLS 1.1 client: error %v, want the server refusing the protocol version", err)
	}
}

func TestTLS(t *testing.T) {
	// Go refuses TLS 1.0 and 1.1 by default; this lets it accept them, so
	// that only the server's own minimum refuses them.
	t.Setenv("GODEBUG", "tls10server=1")
	files := newTLSFiles(t.TempDir())
	first := files.write(t, "first")
	logs := &hardLogBuffer{}
	vars := files.env()
	vars["LOG_LEVEL"] = "INFO"
	s, err := testserver.Start(t.TempDir(), testserver.Options{
		Listen: true, Env: vars, Logs: logs, Config: []func(*config.Config){onTestStore(t)},
	})
	if err != nil {
		t.Fatalf("start with TLS: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("URL %s, want https", s.URL)
	}

	// HTTPS works; the API is the usual one.
	open := tlsClient(first)
	defer open.CloseIdleConnections()
	if got, _ := tlsHealth(t, open, s.URL); !got.Equal(first) {
		t.Fatalf("server shows %q, want the first certificate", got.Subject.CommonName)
	}
	e := &env{t: t, URL: s.URL, MetricsURL: s.MetricsURL, App: s.App}
	hc := tlsClient(first)
	resp, body := hardDo(t, hc, "GET", s.URL+"/api/v1/threads", e.token("alice"), nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /threads over HTTPS: status %d; body %s", resp.StatusCode, body)
	}
	// Plain HTTP on the HTTPS port is not served: Go's server answers it
	// before the API sees it, so not through the contract-checked client.
	if resp, body, err := hardTry(&http.Client{Transport: &http.Transport{}}, "GET", "http"+strings.TrimPrefix(s.URL, "https")+"/api/v1/health", "", nil, nil); err == nil && resp.StatusCode == http.StatusOK {
		t.Errorf("plain HTTP on the HTTPS port: status 200; body %s", body)
	}
	tlsWantRefused(t, s.URL)

	// A new certificate: new connections get it, the open one keeps going.
	second := files.write(t, "second")
	if err := s.App.ReloadTLS(); err != nil {
		t.Fatalf("ReloadTLS with good files: %v", err)
	}
	if got := tlsNewConnection(t, s.URL, first, second); !got.Equal(second) {
		t.Errorf("after the reload a new connection sees %q, want the second certificate", got.Subject.CommonName)
	}
	if got, reused := tlsHealth(t, open, s.URL); !reused || !got.Equal(first) {
		t.Errorf("the connection open before the reload: reused %t, certificate %q; want it kept, on the first certificate", reused, got.Subject.CommonName)
	}
	if !strings.Contains(logs.String(), `"level":"INFO","msg":"TLS certificate reloaded"`) {
		t.Errorf("no INFO line for the reload; logs:\n%s", logs)
	}

	// Bad files: the certificate in use stays.
	if err := os.WriteFile(files.cert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.App.ReloadTLS(); err == nil {
		t.Errorf("ReloadTLS with a broken certificate file: no error")
	}
	if got := tlsNewConnection(t, s.URL, first, second); !got.Equal(second) {
		t.Errorf("after a failed reload a new connection sees %q, want the second certificate still", got.Subject.CommonName)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"TLS certificate not reloaded`) {
		t.Errorf("no ERROR line for the failed reload; logs:\n%s", logs)
	}
}

func TestTLSBadFilesAtStart(t *testing.T) {
	dir := t.TempDir()
	good := newTLSFiles(dir)
	good.write(t, "good")
	other := newTLSFiles(t.TempDir())
	other.write(t, "other")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN NOTHING-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		cert, key string
		want      string
	}{
		{"missing certificate", filepath.Join(dir, "missing.pem"), good.key, "no such file"},
		{"missing key", good.cert, filepath.Join(dir, "missing.pem"), "no such file"},
		{"not PEM", garbage, good.key, "PEM"},
		{"key of another certificate", good.cert, other.key, "private key does not match public key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := testserver.Start(t.TempDir(), testserver.Options{
				Listen: true,
				Env:    map[string]string{"TLS_CERT_FILE": tc.cert, "TLS_KEY_FILE": tc.key},
				Config: []func(*config.Config){onTestStore(t)},
			})
			if err == nil {
				s.Close()
				t.Fatalf("started with %s", tc.name)
			}
			for _, want := range []string{"cannot serve HTTPS", "TLS_CERT_FILE " + tc.cert, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// The real program: HTTPS from the environment, SIGHUP reads the files
// again without stopping the server, and bad files stop start-up.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/agcomd")
	}
	dir := t.TempDir()
	files := newTLSFiles(dir)
	first := files.write(t, "first")
	dbPath := filepath.Join(dir, "agcom.db")
	p := hardSpawnAgcomd(t, dir, "DB_PATH="+dbPath, "DATABASE_URL="+hardDatabaseURL(t, dbPath),
		"TLS_CERT_FILE="+files.cert, "TLS_KEY_FILE="+files.key)
	url := "https" + strings.TrimPrefix(p.url, "http")
	tlsWaitReady(t, p, url, first)

	second := files.write(t, "second")
	logged := strings.Count(p.logs.String(), "TLS certificate reloaded")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP: %v", err)
	}
	tlsWaitLog(t, p, "TLS certificate reloaded", logged+1)
	if got := tlsNewConnection(t, url, first, second); !got.Equal(second) {
		t.Errorf("after SIGHUP a new connection sees %q, want the second certificate", got.Subject.CommonName)
	}

	// Bad files and SIGHUP: logged, and the server goes on with the
	// certificate it has.
	if err := os.WriteFile(files.key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP: %v", err)
	}
	tlsWaitLog(t, p, "TLS certificate not reloaded", 1)
	if got := tlsNewConnection(t, url, first, second); !got.Equal(second) {
		t.Errorf("after a failed reload a new connection sees %q, want the second certificate still", got.Subject.CommonName)
	}
	select {
	case <-p.done:
		t.Fatalf("agcomd exited after SIGHUP: %v\n%s", p.err, p.logs.String())
	default:
	}

	// The same broken files at start-up stop the program, saying why.
	cmd := exec.Command(hardAgcomd(t))
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SECRET_KEY=" + testSecretKey, "HOST=127.0.0.1", "PORT=0", "METRICS_ADDR=",
		"DB_PATH=" + filepath.Join(cmd.Dir, "agcom.db"), "TLS_CERT_FILE=" + files.cert, "TLS_KEY_FILE=" + files.key}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("agcomd with a broken key file: %v, want exit code 1; output %s", err, out.String())
	}
	if !strings.Contains(out.String(), "cannot serve HTTPS: TLS_CERT_FILE "+files.cert+", TLS_KEY_FILE "+files.key) {
		t.Errorf("agcomd with a broken key file says %q, want the files named", out.String())
	}
}

// tlsWaitReady waits until p answers readiness over HTTPS with cert.
func tlsWaitReady(t *testing.T, p *hardProc, url string, cert *x509.Certificate) {
	t.Helper()
	hc := tlsClient(cert)
	defer hc.CloseIdleConnections()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("agcomd exited before it was ready: %v\n%s", p.err, p.logs.String())
		default:
		}
		resp, _, err := hardTry(hc, "GET", url+"/api/v1/health/ready", "", nil, nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agcomd not ready over HTTPS after 15 s (last error %v)\n%s", err, p.logs.String())
		}
	}
}

// tlsWaitLog waits until p's logs hold msg at least n times.
func tlsWaitLog(t *testing.T, p *hardProc, msg string, n int) {
	t.Helper()
	if !waitFor(func() bool { return strings.Count(p.logs.String(), msg) >= n }) {
		t.Fatalf("agcomd did not log %q after SIGHUP; logs:\n%s", msg, p.logs.String())
	}
}
