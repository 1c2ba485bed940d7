package connectr_test

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

// goApp is the origin these tests allow; each test sets the project's origins itself (the
// harness's daemon is shared by the whole test binary).
const goApp = "https://app-go.example.com"

func checkSession(t *testing.T, h harnessInfo, s *connectr.ConnectSession) {
	t.Helper()
	if !strings.HasPrefix(s.Token, "cnct_") {
		t.Fatalf("token %q", s.Token)
	}
	u, err := url.Parse(s.ConnectURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host != h.URL || u.Path != "/connect" || u.RawQuery != "" || u.Fragment != s.Token {
		t.Fatalf("connect_url %q (daemon %s)", s.ConnectURL, h.URL)
	}
	expires, err := time.Parse(time.RFC3339, s.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	if ahead := time.Until(expires); ahead < 29*time.Minute || ahead > 30*time.Minute+5*time.Second {
		t.Fatalf("expires_at %s is %s ahead", s.ExpiresAt, ahead)
	}
}

// namesField reports whether a detail names field: as its Field, or (return_url's origin) at
// the start of its message.
func namesField(e *connectr.APIError, field string) bool {
	for _, d := range e.Details {
		if strings.HasPrefix(d.Field, field) || (d.Field == "" && strings.HasPrefix(d.Message, field)) {
			return true
		}
	}
	return false
}

func TestLiveConnectSessions(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	settings, err := c.PutConnectSettings(ctx, nil)
	if err != nil || settings.AllowedOrigins == nil || len(settings.AllowedOrigins) != 0 {
		t.Fatalf("put no origins: %+v %v", settings, err)
	}
	s, err := c.CreateConnectSession(ctx, connectr.ConnectSessionInput{
		EndUser:           connectr.EndUser{ID: "go-user", Email: "ada@example.com", DisplayName: "Ada"},
		AllowedConnectors: []string{"gmail"},
		Tags:              map[string]string{"from": "go"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSession(t, h, s)
	// The token and the URL holding it open an end user's page: never printed.
	for _, shown := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v", *s, *s, *s)} {
		if strings.Contains(shown, s.Token) || !strings.Contains(shown, s.ExpiresAt) {
			t.Fatalf("printed: %s", shown)
		}
	}
	// It opens the page, not the API.
	_, err = liveClient(t, s.Token).ListConnections(ctx, connectr.ListConnectionsOptions{})
	wantCode(t, err, connectr.ErrAuthRequired, 401)

	// A return URL on an origin the project has not allowed: 400, naming it.
	_, err = c.CreateConnectSession(ctx, connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "go-user"}, ReturnURL: goApp + "/done"})
	e := wantCode(t, err, connectr.ErrInvalidInput, 400)
	if e.Code != "invalid_input" || !strings.Contains(e.Message, goApp) || !namesField(e, "body.return_url") || !strings.Contains(e.Hint, "connect/settings") {
		t.Fatalf("refused return_url: %v", e)
	}

	if settings, err = c.PutConnectSettings(ctx, []string{goApp}); err != nil || fmt.Sprint(settings.AllowedOrigins) != "["+goApp+"]" {
		t.Fatalf("put: %+v %v", settings, err)
	}
	if settings, err = c.GetConnectSettings(ctx); err != nil || fmt.Sprint(settings.AllowedOrigins) != "["+goApp+"]" {
		t.Fatalf("get: %+v %v", settings, err)
	}
	s, err = c.CreateConnectSession(ctx, connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "go-user"}, ReturnURL: goApp + "/done?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	checkSession(t, h, s)
	// Exact origins: another port or scheme of the same host is another origin.
	for _, elsewhere := range []string{goApp + ":8443/done", "http://app-go.example.com/done"} {
		_, err = c.CreateConnectSession(ctx, connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "go-user"}, ReturnURL: elsewhere})
		wantCode(t, err, connectr.ErrInvalidInput, 400)
	}
}

func TestLiveConnectSessionConnectionID(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	// The project's own connection: a session that signs it in again.
	s, err := c.CreateConnectSession(ctx, connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "go-user"}, ConnectionID: h.Connections["gmail"]})
	if err != nil {
		t.Fatal(err)
	}
	checkSession(t, h, s)
	_, err = c.CreateConnectSession(ctx, connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "go-user"}, ConnectionID: "conn_doesnotexist"})
	if e := wantCode(t, err, connectr.ErrNotFound, 404); e.Code != "not_found" {
		t.Fatalf("unknown connection: %v", e)
	}
	// Another project's connection does not exist for this key either.
	_, err = liveClient(t, h.OtherKey).CreateConnectSession(ctx, connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "go-user"}, ConnectionID: h.Connections["gmail"]})
	wantCode(t, err, connectr.ErrNotFound, 404)
}

func TestLiveConnectHostileInput(t *testing.T) {
	c := liveClient(t, "")
	ctx := ctxT(t)
	user := connectr.EndUser{ID: "u"}
	cases := []struct {
		in    connectr.ConnectSessionInput
		field string
	}{
		{connectr.ConnectSessionInput{EndUser: user, Tags: map[string]string{"Team Name": "x"}}, "body.tags"},
		{connectr.ConnectSessionInput{EndUser: user, Tags: map[string]string{"team": "a\x1b[31mb"}}, "body.tags"},
		{connectr.ConnectSessionInput{EndUser: user, AllowedConnectors: []string{"gmial"}}, "body.allowed_connectors.0"},
		{connectr.ConnectSessionInput{EndUser: user, ConnectionID: "../connections"}, "body.connection_id"},
		{connectr.ConnectSessionInput{EndUser: user, ReturnURL: "javascript:alert(1)"}, "body.return_url"},
		{connectr.ConnectSessionInput{EndUser: connectr.EndUser{ID: "u\nv"}}, "body.end_user.id"},
		{connectr.ConnectSessionInput{}, "body.end_user.id"},
	}
	for _, tc := range cases {
		_, err := c.CreateConnectSession(ctx, tc.in)
		if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !namesField(e, tc.field) {
			t.Fatalf("%+v: want a detail naming %s, got %v", tc.in, tc.field, e)
		}
	}
	_, err := c.PutConnectSettings(ctx, []string{goApp, "http://evil.example.com"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("body.allowed_origins.1") {
		t.Fatalf("an http origin off loopback: %v", e)
	}
}

// TestConnectDocsSnippet builds docs/connect.md's Go block into a program of its own (a module
// that uses this one, as a user's does) and runs it against the harness.
func TestConnectDocsSnippet(t *testing.T) {
	h := live(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "docs", "connect.md"))
	if err != nil {
		t.Fatal(err)
	}
	var snippet string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(text), -1) {
		if strings.Contains(m[1], "CreateConnectSession") {
			snippet = m[1]
		}
	}
	if snippet == "" {
		t.Fatal("no Go block calling CreateConnectSession in docs/connect.md")
	}
	if _, err := liveClient(t, "").PutConnectSettings(ctxT(t), []string{"https://app.example.com"}); err != nil {
		t.Fatal(err)
	}
	program := "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\n" + snippet + `
func main() {
	client, err := connectr.NewClient()
	if err != nil {
		panic(err)
	}
	url, err := connectURLFor(context.Background(), client, "docs-user")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(url)
}
`
	run := exec.Command("go", "run", ".")
	run.Dir = userModule(t, "snippet", program)
	run.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "CONNECTR_URL="+h.URL, "CONNECTR_API_KEY="+h.APIKey)
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("go run docs/connect.md's snippet: %v\n%s", err, stderr.String())
	}
	u, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil || u.Path != "/connect" || !strings.HasPrefix(u.Fragment, "cnct_") {
		t.Fatalf("the snippet printed %q", out)
	}
}
