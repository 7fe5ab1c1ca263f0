package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const testDir = "golang.org/x/vulndb@v0.0.0-20260101000000-000000000000/data/osv"

var testSnapshot = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testZip is a module zip with the given files, by name under testDir.
func testZip(t *testing.T, files map[string]string) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestBuild(t *testing.T) {
	zr := testZip(t, map[string]string{
		// The standard library in two blocks, one per release branch.
		testDir + "/GO-2026-0002.json": `{"schema_version":"1.3.1","id":"GO-2026-0002","modified":"0001-01-01T00:00:00Z",
			"aliases":["CVE-2026-2"],"summary":"s","affected":[
			{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.26.9"}]}]},
			{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.27.0-0"},{"fixed":"1.27.2"}]}]},
			{"package":{"name":"example.com/a","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`,
		testDir + "/GO-2026-0001.json": `{"id":"GO-2026-0001","modified":"2025-06-01T00:00:00Z","affected":[
			{"package":{"name":"example.com/a","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}`,
		// Neither is an entry of the database.
		testDir + "/sub/GO-2026-0003.json":                      `{"id":"GO-2026-0003"}`,
		"golang.org/x/vulndb@v0/data/reports/GO-2026-0001.yaml": "id: GO-2026-0001",
	})
	files, err := build(zr, testDir, testSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	wantNames := []string{"ID/GO-2026-0001.json", "ID/GO-2026-0002.json", "index/db.json", "index/modules.json", "index/vulns.json"}
	if !sameSet(names, wantNames) {
		t.Fatalf("files %v, want %v", names, wantNames)
	}

	for name, want := range map[string]string{
		"index/db.json": `{"modified":"2026-01-01T00:00:00Z"}`,
		"index/modules.json": `[
			{"path":"example.com/a","vulns":[
				{"id":"GO-2026-0001","modified":"2025-06-01T00:00:00Z","fixed":"1.2.0"},
				{"id":"GO-2026-0002","modified":"2026-01-01T00:00:00Z"}]},
			{"path":"stdlib","vulns":[
				{"id":"GO-2026-0002","modified":"2026-01-01T00:00:00Z","fixed":"1.27.2"}]}]`,
		"index/vulns.json": `[
			{"id":"GO-2026-0001","modified":"2025-06-01T00:00:00Z"},
			{"id":"GO-2026-0002","modified":"2026-01-01T00:00:00Z","aliases":["CVE-2026-2"]}]`,
	} {
		assertJSON(t, name, files[name], want)
	}

	// An entry keeps every field; only a missing modified time is filled in.
	var e map[string]any
	if err := json.Unmarshal(files["ID/GO-2026-0002.json"], &e); err != nil {
		t.Fatal(err)
	}
	if e["modified"] != "2026-01-01T00:00:00Z" || e["schema_version"] != "1.3.1" || e["summary"] != "s" {
		t.Errorf("ID/GO-2026-0002.json = %v", e)
	}
	assertJSON(t, "ID/GO-2026-0001.json", files["ID/GO-2026-0001.json"], `{"id":"GO-2026-0001","modified":"2025-06-01T00:00:00Z","affected":[
		{"package":{"name":"example.com/a","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]}`)
}

func TestBuildRejects(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no entries":   {"golang.org/x/vulndb@v0/README.md": "x"},
		"misnamed":     {testDir + "/GO-2026-0001.json": `{"id":"GO-2026-0009"}`},
		"invalid JSON": {testDir + "/GO-2026-0001.json": `{"id":`},
	} {
		if _, err := build(testZip(t, files), testDir, testSnapshot); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLatestFix(t *testing.T) {
	semverRange := func(events ...[2]string) osvRange {
		r := osvRange{Type: "SEMVER"}
		for _, e := range events {
			r.Events = append(r.Events, struct {
				Introduced string `json:"introduced,omitempty"`
				Fixed      string `json:"fixed,omitempty"`
			}{Introduced: e[0], Fixed: e[1]})
		}
		return r
	}
	intro := func(v string) [2]string { return [2]string{v, ""} }
	fix := func(v string) [2]string { return [2]string{"", v} }
	for _, tc := range []struct {
		name   string
		ranges []osvRange
		want   string
	}{
		{"no ranges", nil, ""},
		{"never fixed", []osvRange{semverRange(intro("0"))}, ""},
		{"fixed", []osvRange{semverRange(intro("0"), fix("1.5.0"))}, "1.5.0"},
		{"latest of two fixes", []osvRange{semverRange(intro("0"), fix("1.5.0"), intro("2.0.0"), fix("2.4.0"))}, "2.4.0"},
		{"semver order, not text", []osvRange{semverRange(intro("0"), fix("1.9.0"), intro("1.10.0"), fix("1.10.3"))}, "1.10.3"},
		{"introduced again after the fix", []osvRange{semverRange(intro("0"), fix("1.5.0"), intro("2.0.0"))}, ""},
		{"pre-release", []osvRange{semverRange(intro("0"), fix("1.11.0-alpha.0.0.20260225185322-738bad662b20"))}, "1.11.0-alpha.0.0.20260225185322-738bad662b20"},
		{"other range types", []osvRange{{Type: "GIT"}}, ""},
	} {
		if got := latestFix(tc.ranges); got != tc.want {
			t.Errorf("%s: latestFix = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLaterFix(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"1.26.9", "1.27.2", "1.27.2"},
		{"1.27.2", "1.26.9", "1.27.2"},
		{"", "1.27.2", ""},
		{"1.26.9", "", ""},
	} {
		if got := laterFix(tc.a, tc.b); got != tc.want {
			t.Errorf("laterFix(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db", "v1")
	if err := os.MkdirAll(filepath.Join(dir, "ID"), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "ID", "GO-2020-0001.json")
	if err := os.WriteFile(stale, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeDir(dir, map[string][]byte{"index/db.json": []byte("{}"), "ID/GO-2026-0001.json": []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index/db.json", "ID/GO-2026-0001.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the old database's file is still there: %v", err)
	}
	left, err := filepath.Glob(filepath.Join(filepath.Dir(dir), ".agcom-vulndb-*"))
	if err != nil || len(left) != 0 {
		t.Errorf("temporary directories left: %v %v", left, err)
	}
}

func assertJSON(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", name, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: the test's JSON: %v", name, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n%s\nwant\n%s", name, got, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]bool, len(a))
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}
