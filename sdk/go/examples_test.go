package connectr_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestExamples builds the programs of examples/ and runs each against the harness, as a
// user would: CONNECTR_URL and CONNECTR_API_KEY in the environment, ids and paths as arguments.
func TestExamples(t *testing.T) {
	h := live(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./examples/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/...: %v\n%s", err, out)
	}
	run := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		exe := filepath.Join(bin, name)
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "CONNECTR_URL="+h.URL, "CONNECTR_API_KEY="+h.APIKey)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s did not finish", name)
		}
		return stdout.String()
	}

	t.Run("gmail-unread", func(t *testing.T) {
		out := run(t, "gmail-unread", h.Connections["gmail"])
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 5 || lines[4] != "4 unread" {
			t.Fatalf("output:\n%s", out)
		}
		line := regexp.MustCompile(`^[0-9a-f]+\t\S+@\S+\tMessage \d+$`)
		for _, l := range lines[:4] {
			if !line.MatchString(l) {
				t.Fatalf("line %q", l)
			}
		}
	})
	t.Run("dropbox-upload", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "report.bin")
		data := bytes.Repeat([]byte("connectr go example\n"), 5000)
		if err := os.WriteFile(local, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out := run(t, "dropbox-upload", h.Connections["dropbox"], local, "/docs/go-example.bin")
		if out != "uploaded /docs/go-example.bin (100000 bytes)\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("onedrive-download", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "hello.txt")
		out := run(t, "onedrive-download", h.Connections["onedrive"], "hello.txt", local)
		if out != "downloaded hello.txt: 20 bytes to "+local+"\n" {
			t.Fatalf("output %q", out)
		}
		got, err := os.ReadFile(local)
		if err != nil || string(got) != "hello from onedrive\n" {
			t.Fatalf("file %q %v", got, err)
		}
		if out := run(t, "onedrive-download", h.Connections["onedrive"], "hello.txt", "-"); out != "hello from onedrive\n" {
			t.Fatalf("stdout %q", out)
		}
	})
}
