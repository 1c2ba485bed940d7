package connectr_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

// harnessInfo is the JSON line test/sdk/harness.ts prints once its server is up.
type harnessInfo struct {
	URL         string            `json:"url"`
	APIKey      string            `json:"api_key"`
	TokenKey    string            `json:"token_key"`
	OtherKey    string            `json:"other_key"`
	Connections map[string]string `json:"connections"`
	Tokens      map[string]string `json:"tokens"`
}

var harness struct {
	once  sync.Once
	info  harnessInfo
	err   error
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *os.File
}

// repoRoot is the repository holding this module (sdk/go), found from the test's directory.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "test", "sdk", "harness.ts")); err != nil {
		return "", fmt.Errorf("no test/sdk/harness.ts two levels above %s: %w", wd, err)
	}
	return root, nil
}

// startHarness starts one connectr serve with the emulators for the whole test binary, the
// first time a test needs it (unit tests against fake servers never do).
func startHarness() {
	root, err := repoRoot()
	if err != nil {
		harness.err = err
		return
	}
	cmd := exec.Command("node", "--import", "tsx", "test/sdk/harness.ts")
	cmd.Dir = root
	log, err := os.CreateTemp("", "connectr-go-harness-*.log")
	if err != nil {
		harness.err = err
		return
	}
	harness.log = log
	cmd.Stderr = log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		harness.err = err
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		harness.err = err
		return
	}
	if err := cmd.Start(); err != nil {
		harness.err = fmt.Errorf("starting the harness (node on PATH? npm ci && npm run build done?): %w", err)
		return
	}
	harness.cmd, harness.stdin = cmd, stdin
	line := make(chan []byte, 1)
	go func() {
		b, _ := bufio.NewReader(stdout).ReadBytes('\n')
		line <- b
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case b := <-line:
		if err := json.Unmarshal(b, &harness.info); err != nil || harness.info.URL == "" {
			harness.err = fmt.Errorf("the harness did not print its JSON line (%q): see %s", b, log.Name())
		}
	case <-time.After(150 * time.Second):
		harness.err = fmt.Errorf("the harness did not start within 150 s: see %s", log.Name())
	}
}

// stopHarness closes its stdin (the harness then stops the server and emulators and removes
// its files), and kills it if it has not exited within 30 s.
func stopHarness() {
	if harness.cmd == nil {
		return
	}
	_ = harness.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- harness.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = harness.cmd.Process.Kill()
		<-done
	}
	if harness.log != nil {
		harness.log.Close()
		if harness.err == nil {
			os.Remove(harness.log.Name())
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopHarness()
	os.Exit(code)
}

// live is the running harness; the test fails (not skips) when it cannot start.
func live(t *testing.T) harnessInfo {
	t.Helper()
	harness.once.Do(startHarness)
	if harness.err != nil {
		t.Fatalf("harness: %v", harness.err)
	}
	return harness.info
}

// liveClient is a client of the harness with key (api_key when empty).
func liveClient(t *testing.T, key string, opts ...connectr.Option) *connectr.Client {
	t.Helper()
	h := live(t)
	if key == "" {
		key = h.APIKey
	}
	c, err := connectr.NewClient(append([]connectr.Option{connectr.WithBaseURL(h.URL), connectr.WithAPIKey(key), connectr.WithTimeout(60 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, sentinel error, status int) *connectr.APIError {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error matching %v, got none", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("want errors.Is(err, %v); got %T %v", sentinel, err, err)
	}
	var apiErr *connectr.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an *APIError, got %T %v", err, err)
	}
	if apiErr.Status != status {
		t.Fatalf("want status %d, got %d (%v)", status, apiErr.Status, err)
	}
	return apiErr
}
