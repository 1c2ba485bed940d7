package connectr_test

// The Go receiver of docs/webhooks.md (examples/webhooks/verify.go), built against this module
// and run as a user runs it, receiving deliveries signed by the official Standard Webhooks
// library; and the docs show that file as it is.

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docSnippet is the fenced block of lang in docs/webhooks.md's "Verifying a delivery" that calls
// the verify helper.
func docSnippet(t *testing.T, root, lang string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root, "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllSubmatch(text, -1) {
		if bytes.Contains(m[1], []byte("VerifyWebhook")) || bytes.Contains(m[1], []byte("verify_webhook")) {
			return string(m[1])
		}
	}
	t.Fatalf("no %s block calling the verify helper in docs/webhooks.md", lang)
	return ""
}

// userModule is a module of its own named name, whose main.go is source, that uses this one
// as a user's program does (through a replace: nothing is downloaded). Build it with
// GOFLAGS=-mod=mod and GOPROXY=off.
func userModule(t *testing.T, name, source string) string {
	t.Helper()
	dir := t.TempDir()
	module, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	mod := "module " + name + "\n\ngo 1.23\n\nrequire github.com/connectr/connectr/sdk/go v0.0.0\n\nreplace github.com/connectr/connectr/sdk/go => " + strconv.Quote(module) + "\n"
	for file, content := range map[string]string{"go.mod": mod, "main.go": source} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWebhookReceiverExample(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	source, err := os.ReadFile(filepath.Join(root, "examples", "webhooks", "verify.go"))
	if err != nil {
		t.Fatal(err)
	}
	if docSnippet(t, root, "go") != string(source) {
		t.Fatal("the docs' Go snippet differs from examples/webhooks/verify.go")
	}

	dir := userModule(t, "receiver", string(source))
	exe := filepath.Join(dir, "receiver")
	build := exec.Command("go", "build", "-o", exe, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/webhooks/verify.go: %v\n%s", err, out)
	}

	secret, old := newSecret(t), newSecret(t)
	cmd := exec.Command(exe, "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+old+" "+secret)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	address := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if url, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
				address <- url
			}
		}
	}()
	var url string
	select {
	case url = <-address:
	case <-time.After(20 * time.Second):
		t.Fatal("the receiver did not start")
	}

	now := time.Now().Unix()
	sigs := officialSignatures(t, []signRequest{
		{ID: "evt_1", Seconds: now, Body: verifyBody, Secrets: []string{secret}},
		{ID: "evt_2", Seconds: now, Body: `{"type":"webhook.test","timestamp":"2026-12-07T20:00:00.000Z","data":{}}`, Secrets: []string{newSecret(t)}},
		{ID: "evt_3", Seconds: now - 600, Body: verifyBody, Secrets: []string{secret}},
	})
	post := func(id string, seconds int64, signature, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Webhook-Id", id)
		req.Header.Set("Webhook-Timestamp", strconv.FormatInt(seconds, 10))
		req.Header.Set("Webhook-Signature", signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := post("evt_1", now, sigs[0], verifyBody); status != http.StatusNoContent {
		t.Fatalf("a signed delivery: %d", status)
	}
	if status := post("evt_2", now, sigs[1], `{"type":"webhook.test","timestamp":"2026-12-07T20:00:00.000Z","data":{}}`); status != http.StatusBadRequest {
		t.Fatalf("another secret's delivery: %d", status)
	}
	if status := post("evt_3", now-600, sigs[2], verifyBody); status != http.StatusBadRequest {
		t.Fatalf("a stale delivery: %d", status)
	}
	if status := post("evt_1", now, sigs[0], strings.Replace(verifyBody, "conn_1", "conn_2", 1)); status != http.StatusBadRequest {
		t.Fatalf("a tampered delivery: %d", status)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := stdout.String(); got != "evt_1 connection.needs_reauth conn_1 refresh_rejected\n" {
		t.Fatalf("the receiver printed %q", got)
	}
}
