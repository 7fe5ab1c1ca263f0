package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// toolBinary is a third-party server the tests start (an identity
// provider, an S3 gateway), built from its own module under tools/ so
// that its dependencies stay out of go.mod, once per version into the
// user's cache directory: minutes the first time, then found built.
type toolBinary struct {
	title string // for failures: "Ory Hydra"
	dir   string // the module, below tools/
	pkg   string // the main package to build
	tags  []string

	once sync.Once
	path string
	err  error
}

var (
	hydraTool = &toolBinary{title: "Ory Hydra", dir: "hydra", pkg: "github.com/ory/hydra/v2",
		tags: []string{"sqlite", "sqlite_omit_load_extension"}}
	versitygwTool = &toolBinary{title: "the Versity S3 gateway", dir: "versitygw", pkg: "github.com/versity/versitygw/cmd/versitygw"}
)

// binary returns the path of the built tool, building it the first time.
func (b *toolBinary) binary(t *testing.T) string {
	t.Helper()
	b.once.Do(func() { b.path, b.err = b.build() })
	if b.err != nil {
		t.Fatalf("build %s from tools/%s: %v", b.title, b.dir, b.err)
	}
	return b.path
}

func (b *toolBinary) build() (string, error) {
	dir, err := filepath.Abs(filepath.Join("..", "tools", b.dir))
	if err != nil {
		return "", err
	}
	// The binary is named by its module's requirements: a new version is
	// built again.
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "agcom-test", b.dir+"-"+hex.EncodeToString(h.Sum(nil)[:8]), b.dir)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goCmd = p
	}
	// Built beside the final name and renamed, so that test processes
	// building at once never run a half-written binary.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	args := []string{"build", "-o", tmp}
	if len(b.tags) > 0 {
		args = append(args, "-tags", strings.Join(b.tags, ","))
	}
	cmd := exec.Command(goCmd, append(args, b.pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}
