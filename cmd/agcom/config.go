package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// fileConfig is the configuration file `agcom login` writes.
type fileConfig struct {
	URL    string `json:"url,omitempty"`
	Token  string `json:"token,omitempty"`
	Handle string `json:"handle,omitempty"`
}

// configPath is AGCOM_CONFIG, or agcom/config.json in the user's
// configuration directory.
func (c *cli) configPath() (string, error) {
	if p := c.getenv("AGCOM_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := userConfigDir(c.getenv)
	if err != nil {
		return "", fmt.Errorf("cannot place the configuration file: %w; set AGCOM_CONFIG to a file path", err)
	}
	return filepath.Join(dir, "agcom", "config.json"), nil
}

// userConfigDir is os.UserConfigDir reading the given environment.
func userConfigDir(getenv func(string) string) (string, error) {
	var dir string
	switch runtime.GOOS {
	case "windows":
		if dir = getenv("AppData"); dir == "" {
			return "", errors.New("%AppData% is not set")
		}
		return dir, nil
	case "darwin", "ios":
		if dir = getenv("HOME"); dir == "" {
			return "", errors.New("$HOME is not set")
		}
		return filepath.Join(dir, "Library", "Application Support"), nil
	case "plan9":
		if dir = getenv("home"); dir == "" {
			return "", errors.New("$home is not set")
		}
		return filepath.Join(dir, "lib"), nil
	}
	if dir = getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return dir, nil
	}
	if dir = getenv("HOME"); dir == "" {
		return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
	}
	return filepath.Join(dir, ".config"), nil
}

// config reads the configuration file once; a missing file is an empty
// configuration.
func (c *cli) config() (fileConfig, error) {
	if c.loaded {
		return c.file, nil
	}
	path, err := c.configPath()
	if err != nil {
		return fileConfig{}, err
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fileConfig{}, fmt.Errorf("read the configuration file: %w", err)
	default:
		if err := json.Unmarshal(b, &c.file); err != nil {
			return fileConfig{}, fmt.Errorf("the configuration file %s is not valid JSON (%v): fix or delete it, then run `agcom login` again", path, err)
		}
	}
	c.loaded = true
	return c.file, nil
}

// saveConfig writes f to the configuration file, readable by its owner
// only: it holds a bearer token. It returns the file's path.
func (c *cli) saveConfig(f fileConfig) (string, error) {
	path, err := c.configPath()
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("save the configuration: %w", err)
	}
	// Write a temporary file and rename it, so a crash never leaves half a
	// file, and the token is never readable by others, even briefly.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return "", fmt.Errorf("save the configuration: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save the configuration: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save the configuration: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("save the configuration: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("save the configuration: %w", err)
	}
	c.file, c.loaded = f, true
	return path, nil
}

// claims is what the CLI reads from a token, without verifying it (the
// server does): whom it names and when it expires, for advice.
type claims struct {
	Handle  string
	Expires time.Time
}

// parseClaims reads a JWT's payload.
func parseClaims(token string) (claims, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, false
	}
	var p struct {
		Handle string  `json:"agent_handle"`
		Exp    float64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return claims{}, false
	}
	cl := claims{Handle: p.Handle}
	if p.Exp > 0 {
		cl.Expires = time.Unix(int64(p.Exp), 0)
	}
	return cl, true
}
