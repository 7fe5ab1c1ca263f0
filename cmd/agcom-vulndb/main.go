// Command agcom-vulndb builds a Go vulnerability database for govulncheck
// from the module golang.org/x/vulndb, at the version go.mod requires. The
// module's zip holds every OSV entry of the public database under data/osv;
// this lays them out as the database API that `govulncheck -db file://DIR`
// reads (https://go.dev/security/vuln/database#api):
//
//	index/db.json       {"modified": newest entry's modified time}
//	index/modules.json  per module: its entries' ids, modified times and latest fixes
//	index/vulns.json    per entry: id, modified time, aliases
//	ID/<id>.json        the OSV entry
//
// The module's entries carry no modified time (the public database takes it
// from the data's git history, which a module zip lacks): an entry without
// one gets the time of the module version's commit, the newest it can be.
//
//	go run ./cmd/agcom-vulndb -out DIR
//	go run golang.org/x/vuln/cmd/govulncheck -db file://DIR ./...
//
// DIR is replaced whole, and only once the new database is complete.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// vulnDBModule holds the data; tools.go keeps it in go.mod.
const vulnDBModule = "golang.org/x/vulndb"

// osvDir is where the module keeps one OSV entry per file, <id>.json.
const osvDir = "data/osv"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "agcom-vulndb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("agcom-vulndb", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the database to (replaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("usage: agcom-vulndb -out DIR")
	}
	mod, err := download(vulnDBModule)
	if err != nil {
		return err
	}
	zr, err := zip.OpenReader(mod.Zip)
	if err != nil {
		return err
	}
	defer zr.Close()
	files, err := build(&zr.Reader, mod.Path+"@"+mod.Version+"/"+osvDir, mod.Time)
	if err != nil {
		return fmt.Errorf("%s@%s: %w", mod.Path, mod.Version, err)
	}
	if err := writeDir(*out, files); err != nil {
		return err
	}
	fmt.Printf("agcom-vulndb: %s@%s: %d entries in %s\n", mod.Path, mod.Version, countEntries(files), *out)
	return nil
}

// module is what `go mod download -json` tells of a module, and the time
// of its version from the .info file.
type module struct {
	Path, Version, Info, Zip, Error string
	Time                            time.Time
}

// download fetches the version of modulePath that go.mod selects through
// the go command, so its checksum is checked against go.sum.
func download(modulePath string) (module, error) {
	var mod module
	cmd := exec.Command("go", "mod", "download", "-json", modulePath)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if jerr := json.Unmarshal(b, &mod); jerr != nil && err == nil {
		err = jerr
	}
	if mod.Error != "" {
		return mod, fmt.Errorf("go mod download %s: %s", modulePath, mod.Error)
	}
	if err != nil {
		return mod, fmt.Errorf("go mod download %s: %w", modulePath, err)
	}
	info, err := os.ReadFile(mod.Info)
	if err != nil {
		return mod, err
	}
	var v struct{ Time time.Time }
	if err := json.Unmarshal(info, &v); err != nil {
		return mod, fmt.Errorf("%s: %w", mod.Info, err)
	}
	if v.Time.IsZero() {
		return mod, fmt.Errorf("%s: no time", mod.Info)
	}
	mod.Time = v.Time.UTC()
	return mod, nil
}

// entry is the part of an OSV entry that the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}

type dbMeta struct {
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type vulnMeta struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// build reads the OSV entries directly under dir in zr and returns the
// database's files by slash-separated path. An entry without a modified
// time gets snapshot.
func build(zr *zip.Reader, dir string, snapshot time.Time) (map[string][]byte, error) {
	files := make(map[string][]byte)
	db := dbMeta{}
	modules := make(map[string]*moduleMeta)
	var vulns []vulnMeta
	for _, f := range zr.File {
		if path.Dir(f.Name) != dir || path.Ext(f.Name) != ".json" {
			continue
		}
		raw, err := readZipFile(f)
		if err != nil {
			return nil, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if path.Base(f.Name) != e.ID+".json" {
			return nil, fmt.Errorf("%s: holds entry %q", f.Name, e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = snapshot
			if raw, err = setModified(raw, snapshot); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
		}
		files["ID/"+e.ID+".json"] = raw
		if e.Modified.After(db.Modified) {
			db.Modified = e.Modified
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		// An entry may affect a module in several blocks (the standard
		// library's release branches): it is listed once per module, or
		// govulncheck reports it once per block.
		listed := make(map[string]int) // module path → index in its Vulns
		for _, a := range e.Affected {
			fix := latestFix(a.Ranges)
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			if i, ok := listed[m.Path]; ok {
				m.Vulns[i].Fixed = laterFix(m.Vulns[i].Fixed, fix)
				continue
			}
			listed[m.Path] = len(m.Vulns)
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: fix})
		}
	}
	if len(vulns) == 0 {
		return nil, fmt.Errorf("no OSV entries under %s", dir)
	}

	slices.SortFunc(vulns, func(a, b vulnMeta) int { return strings.Compare(a.ID, b.ID) })
	moduleList := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		slices.SortStableFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		moduleList = append(moduleList, m)
	}
	slices.SortFunc(moduleList, func(a, b *moduleMeta) int { return strings.Compare(a.Path, b.Path) })
	for name, v := range map[string]any{"index/db.json": db, "index/modules.json": moduleList, "index/vulns.json": vulns} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
}

// latestFix is the fixed version (unprefixed semver) after which no version
// in ranges is affected, or "" when there is none: govulncheck fetches an
// entry only for a module version below it. A SEMVER range that introduces
// the vulnerability again after its latest fix has none.
func latestFix(ranges []osvRange) string {
	var fixed string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && semverLess(fixed, e.Fixed) {
				fixed = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semverLess(fixed, e.Introduced) {
				fixed = ""
				break
			}
		}
	}
	return fixed
}

// laterFix is the fix of two blocks of one module together: the later
// version, or "" (no fix) when either has none.
func laterFix(a, b string) string {
	if a == "" || b == "" {
		return ""
	}
	if semverLess(a, b) {
		return b
	}
	return a
}

// semverLess reports whether a < b, both unprefixed semantic versions as
// OSV writes them; "" is below every version.
func semverLess(a, b string) bool {
	return semver.Compare("v"+a, "v"+b) < 0
}

// setModified returns the OSV entry raw with its modified time set to t,
// every other field kept as it was.
func setModified(raw []byte, t time.Time) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	m, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	fields["modified"] = m
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func countEntries(files map[string][]byte) int {
	n := 0
	for name := range files {
		if strings.HasPrefix(name, "ID/") {
			n++
		}
	}
	return n
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// writeDir writes files into a new directory beside dir, then puts it in
// dir's place, so that an interrupted run never leaves half a database.
func writeDir(dir string, files map[string][]byte) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".agcom-vulndb-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
