package connectr_test

// Retries, Retry-After, time-outs, network failures and stream faults, against small HTTP
// servers of the test's own on 127.0.0.1 (the real daemon does not fail on demand), with an
// injected sleep: no test waits the seconds it checks.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

// sleeps records the waits asked of the injected sleep.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// fake is a server answering with handler, counting requests.
func fake(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var count atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler(w, r, int(count.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return srv, &count
}

func fakeClient(t *testing.T, url string, s *sleeps, opts ...connectr.Option) *connectr.Client {
	t.Helper()
	p := connectr.DefaultRetryPolicy()
	p.Sleep = s.sleep
	c, err := connectr.NewClient(append([]connectr.Option{connectr.WithBaseURL(url), connectr.WithAPIKey("cnr_test_key"), connectr.WithRetryPolicy(p), connectr.WithTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func envelopeAnswer(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-Id", "req-"+code)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"details":[{"field":"body.x","message":"bad"}],"hint":"try again"}}`, code, message)
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Authorization") != "Bearer cnr_test_key" {
			t.Errorf("authorization: %q", r.Header.Get("Authorization"))
		}
		if n <= 2 {
			w.Header().Set("Retry-After", "7")
			envelopeAnswer(w, 503, "unavailable", "database away")
			return
		}
		_, _ = io.WriteString(w, `{"connectors":[{"name":"gmail"}]}`)
	})
	s := &sleeps{}
	list, err := fakeClient(t, srv.URL, s).ListConnectors(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %v", list, err)
	}
	if count.Load() != 3 {
		t.Fatalf("attempts: %d, want 3", count.Load())
	}
	if got := s.all(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 7*time.Second {
		t.Fatalf("waits %v, want [7s 7s]", got)
	}
}

func TestRetryAfterDateAndCap(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var values = []string{now.Add(12 * time.Second).Format(http.TimeFormat), "86400", now.Add(-time.Hour).Format(http.TimeFormat)}
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n <= len(values) {
			w.Header().Set("Retry-After", values[n-1])
			w.WriteHeader(429)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok","version":"x"}`)
	})
	s := &sleeps{}
	p := connectr.RetryPolicy{MaxRetries: 5, MaxRetryAfter: 20 * time.Second, Sleep: s.sleep, Now: func() time.Time { return now }}
	c, err := connectr.NewClient(connectr.WithBaseURL(srv.URL), connectr.WithRetryPolicy(p))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.all()
	if count.Load() != 4 || len(got) != 3 || got[0] != 12*time.Second || got[1] != 20*time.Second || got[2] != 0 {
		t.Fatalf("attempts %d, waits %v: want 4, [12s 20s 0s] (date, capped, past date)", count.Load(), got)
	}
}

func TestBackoffWithJitter(t *testing.T) {
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		envelopeAnswer(w, 502, "upstream", "bad gateway")
	})
	s := &sleeps{}
	p := connectr.RetryPolicy{MaxRetries: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond, Sleep: s.sleep}
	c, err := connectr.NewClient(connectr.WithBaseURL(srv.URL), connectr.WithRetryPolicy(p))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetConnection(context.Background(), "conn_x")
	e := wantCode(t, err, connectr.ErrUpstream, 502)
	if e.RequestID != "req-upstream" || e.Hint != "try again" || !e.Field("body.x") {
		t.Fatalf("error fields: %+v", e)
	}
	if count.Load() != 5 {
		t.Fatalf("attempts %d, want 5 (1 + 4 retries)", count.Load())
	}
	want := []time.Duration{100, 200, 300, 300}
	got := s.all()
	if len(got) != len(want) {
		t.Fatalf("waits %v", got)
	}
	for i, d := range got {
		hi := want[i] * time.Millisecond
		if d < hi/2 || d > hi {
			t.Fatalf("wait %d is %v, want within [%v, %v]: %v", i, d, hi/2, hi, got)
		}
	}
}

func TestPostNotRetriedUnlessAsked(t *testing.T) {
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/v1/proxy/execute" && !strings.Contains(string(body), `"endpoint":"get_profile"`) {
			t.Errorf("body on attempt %d: %s", n, body)
		}
		w.Header().Set("Retry-After", "1")
		envelopeAnswer(w, 503, "unavailable", "stopping")
	})
	s := &sleeps{}
	c := fakeClient(t, srv.URL, s)
	req := connectr.ExecuteRequest{ConnectionID: "conn_x", Endpoint: "get_profile"}
	_, err := c.Execute(context.Background(), req)
	wantCode(t, err, connectr.ErrUnavailable, 503)
	if count.Load() != 1 || len(s.all()) != 0 {
		t.Fatalf("a POST was retried: %d attempts", count.Load())
	}
	_, err = c.CreateConnection(context.Background(), connectr.CreateConnectionRequest{ConnectorType: "gmail", Name: "x"})
	wantCode(t, err, connectr.ErrUnavailable, 503)
	if count.Load() != 2 {
		t.Fatalf("create was retried: %d attempts", count.Load())
	}
	count.Store(0)
	req.Retry = true
	_, err = c.Execute(context.Background(), req)
	wantCode(t, err, connectr.ErrUnavailable, 503)
	if count.Load() != 4 {
		t.Fatalf("Retry: true made %d attempts, want 4", count.Load())
	}
	// PUT and DELETE are idempotent: retried.
	count.Store(0)
	_, err = c.DeleteConnection(context.Background(), "conn_x")
	wantCode(t, err, connectr.ErrUnavailable, 503)
	if count.Load() != 4 {
		t.Fatalf("DELETE made %d attempts, want 4", count.Load())
	}
}

func TestNotRetried4xx(t *testing.T) {
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		envelopeAnswer(w, 500, "internal", "bug")
	})
	_, err := fakeClient(t, srv.URL, &sleeps{}).GetConnection(context.Background(), "conn_x")
	wantCode(t, err, connectr.ErrInternal, 500)
	if count.Load() != 1 {
		t.Fatalf("a 500 was retried: %d", count.Load())
	}
}

// dropping accepts connections and closes them at once, counting them.
func dropping(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var count atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			count.Add(1)
			buf := make([]byte, 4096)
			_, _ = conn.Read(buf)
			conn.Close()
		}
	}()
	return "http://" + ln.Addr().String(), &count
}

func TestNetworkErrorsRetriedAndTyped(t *testing.T) {
	url, count := dropping(t)
	s := &sleeps{}
	_, err := fakeClient(t, url, s).ListConnectors(context.Background())
	var ne *connectr.NetworkError
	if !errors.Is(err, connectr.ErrNetwork) || !errors.As(err, &ne) || ne.Err == nil {
		t.Fatalf("want a *NetworkError, got %T %v", err, err)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("the cause is not wrapped: %v", err)
	}
	if count.Load() != 4 || len(s.all()) != 3 {
		t.Fatalf("attempts %d waits %v, want 4 attempts", count.Load(), s.all())
	}
	// POST on a broken connection: once.
	count.Store(0)
	_, err = fakeClient(t, url, s).Execute(context.Background(), connectr.ExecuteRequest{ConnectionID: "c", Endpoint: "e"})
	if !errors.Is(err, connectr.ErrNetwork) || count.Load() != 1 {
		t.Fatalf("POST: %d attempts, %v", count.Load(), err)
	}
	// Nothing listening: connection refused, wrapped (a *net.OpError inside).
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	_, err = fakeClient(t, closed, s, connectr.WithRetries(0)).Health(context.Background())
	var op *net.OpError
	if !errors.Is(err, connectr.ErrNetwork) || !errors.As(err, &op) {
		t.Fatalf("refused: %T %v", err, err)
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s := &sleeps{}
	start := time.Now()
	_, err := fakeClient(t, srv.URL, s, connectr.WithTimeout(150*time.Millisecond), connectr.WithRetries(1)).Health(context.Background())
	var te *connectr.TimeoutError
	if !errors.Is(err, connectr.ErrRequestTimeout) || !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a *TimeoutError wrapping DeadlineExceeded, got %T %v", err, err)
	}
	if count.Load() != 2 {
		t.Fatalf("a GET that timed out is retried once: %d attempts", count.Load())
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v", el)
	}
	// The caller's own deadline is its error, not the client's time-out, and ends the retries.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	count.Store(0)
	_, err = fakeClient(t, srv.URL, s).Health(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, connectr.ErrRequestTimeout) || count.Load() != 1 {
		t.Fatalf("caller deadline: %d attempts, %T %v", count.Load(), err, err)
	}
}

func TestTimeoutMidBody(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"connectors":[`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	_, err := fakeClient(t, srv.URL, &sleeps{}, connectr.WithTimeout(200*time.Millisecond), connectr.WithRetries(0)).ListConnectors(context.Background())
	if !errors.Is(err, connectr.ErrRequestTimeout) {
		t.Fatalf("a body that stalls: %T %v", err, err)
	}
}

func TestSleepHonoursCancel(t *testing.T) {
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(503)
	})
	c, err := connectr.NewClient(connectr.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Health(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second || count.Load() != 1 {
		t.Fatalf("real sleep not cut by the context: %v after %v", err, time.Since(start))
	}
}

func TestNonEnvelopeError(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = io.WriteString(w, "<html>bad gateway\x1b[31m</html>")
	})
	_, err := fakeClient(t, srv.URL, &sleeps{}, connectr.WithRetries(0)).Health(context.Background())
	e := wantCode(t, err, connectr.ErrUnknownCode, 502)
	if strings.Contains(e.Error(), "\x1b") {
		t.Fatalf("control characters reach the message: %q", e.Error())
	}
}

func ndjsonServer(t *testing.T, body string) string {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in["all"] != true || in["max_pages"] != float64(3) {
			t.Errorf("request: %v", in)
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("X-Request-Id", "req-stream")
		_, _ = io.WriteString(w, body)
	})
	return srv.URL
}

func TestExecuteAllErrorLine(t *testing.T) {
	url := ndjsonServer(t, "{\"id\":1}\n\n{\"id\":2}\n{\"error\":{\"code\":\"upstream\",\"message\":\"page 3 failed\",\"details\":[],\"hint\":\"retry\"}}\n")
	c := fakeClient(t, url, &sleeps{})
	var items []string
	var errs []error
	for item, err := range c.ExecuteAll(context.Background(), connectr.ExecuteRequest{ConnectionID: "c", Endpoint: "e", MaxPages: 3}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, string(item))
	}
	if strings.Join(items, " ") != `{"id":1} {"id":2}` || len(errs) != 1 {
		t.Fatalf("items %v errors %v", items, errs)
	}
	e := wantCode(t, errs[0], connectr.ErrUpstream, 502)
	if e.Message != "page 3 failed" || e.RequestID != "req-stream" || e.Hint != "retry" {
		t.Fatalf("%+v", e)
	}
	// An item that merely has an "error" field among others is an item.
	url = ndjsonServer(t, "{\"error\":{\"code\":\"x\",\"message\":\"y\"},\"id\":3}\n")
	for item, err := range fakeClient(t, url, &sleeps{}).ExecuteAll(context.Background(), connectr.ExecuteRequest{MaxPages: 3}) {
		if err != nil || !strings.Contains(string(item), `"id":3`) {
			t.Fatalf("%s %v", item, err)
		}
	}
}

func TestExecuteAllCutStream(t *testing.T) {
	url := ndjsonServer(t, "{\"id\":1}\n{\"id\":")
	var errs []error
	n := 0
	for _, err := range fakeClient(t, url, &sleeps{}).ExecuteAll(context.Background(), connectr.ExecuteRequest{MaxPages: 3}) {
		if err != nil {
			errs = append(errs, err)
		} else {
			n++
		}
	}
	if n != 1 || len(errs) != 1 || !errors.Is(errs[0], connectr.ErrNetwork) {
		t.Fatalf("items %d errors %v", n, errs)
	}
}

func TestExecuteAllIncremental(t *testing.T) {
	// The first item arrives while the server still holds the stream open: it must be
	// yielded before the stream ends.
	next := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, "{\"id\":1}\n")
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-time.After(5 * time.Second):
			return
		}
		_, _ = io.WriteString(w, "{\"id\":2}\n")
	})
	n := 0
	for _, err := range fakeClient(t, srv.URL, &sleeps{}).ExecuteAll(context.Background(), connectr.ExecuteRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 1 {
			close(next) // only reached if item 1 came before item 2 was written
		}
	}
	if n != 2 {
		t.Fatalf("%d items", n)
	}
}

func TestProxyTellsEnvelopeFromUpstream(t *testing.T) {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.EscapedPath() != "/prefix/api/v1/connections/conn_1/proxy/a%20b/c:d@e" || r.URL.RawQuery != "x=1" {
			t.Errorf("path %q query %q", r.URL.EscapedPath(), r.URL.RawQuery)
		}
		if r.Header.Get("X-Connectr-Host") != "content" {
			t.Errorf("host header %q", r.Header.Get("X-Connectr-Host"))
		}
		switch n {
		case 1:
			envelopeAnswer(w, 409, "needs_reauth", "sign in again")
		case 2: // Graph's own error: a code connectr does not have
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"code":"itemNotFound","message":"no such item"}}`)
		default: // a connectr-looking code at the wrong status: upstream's
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"x"}}`)
		}
	})
	c := fakeClient(t, srv.URL+"/prefix/", &sleeps{})
	req := connectr.ProxyRequest{ConnectionID: "conn_1", Path: "/a b/c:d@e", Host: "content", Query: map[string][]string{"x": {"1"}}}
	_, err := c.Proxy(context.Background(), req)
	wantCode(t, err, connectr.ErrNeedsReauth, 409)
	for _, want := range []int{404, 400} {
		resp, err := c.Proxy(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || !strings.HasPrefix(string(body), `{"error":{"code":"`) {
			t.Fatalf("upstream answer: %d %s", resp.StatusCode, body)
		}
	}
}

func TestProxyRetryReplaysSeekableBody(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(201)
	})
	c := fakeClient(t, srv.URL, &sleeps{})
	r := strings.NewReader("xxhello")
	_, _ = r.Seek(2, io.SeekStart)
	resp, err := c.Proxy(context.Background(), connectr.ProxyRequest{ConnectionID: "c", Method: "post", Path: "up", Body: r, Retry: true})
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if count.Load() != 2 || strings.Join(bodies, ",") != "hello,hello" {
		t.Fatalf("bodies %q", bodies)
	}
	// A plain reader cannot be sent twice: one attempt, the 503 comes back as it is.
	count.Store(0)
	resp, err = c.Proxy(context.Background(), connectr.ProxyRequest{ConnectionID: "c", Method: "PUT", Path: "up", Body: io.MultiReader(strings.NewReader("once"))})
	if err != nil || resp.StatusCode != 503 || count.Load() != 1 {
		t.Fatalf("%d attempts, %v %v", count.Load(), resp, err)
	}
	resp.Body.Close()
}

func TestNewClientConfig(t *testing.T) {
	t.Setenv("CONNECTR_URL", "http://127.0.0.1:5999/")
	t.Setenv("CONNECTR_API_KEY", "cnr_env_key")
	c, err := connectr.NewClient()
	if err != nil || c.BaseURL() != "http://127.0.0.1:5999" {
		t.Fatalf("%v %v", c, err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", c, c, *c), "cnr_env_key") {
		t.Fatal("the key is printed")
	}
	t.Setenv("CONNECTR_URL", "")
	c, err = connectr.NewClient()
	if err != nil || c.BaseURL() != connectr.DefaultBaseURL {
		t.Fatalf("%v %v", c, err)
	}
	for _, bad := range []string{"ftp://x", "http://user:pw@host", "127.0.0.1:5000", "http://h/?q=1"} {
		if _, err := connectr.NewClient(connectr.WithBaseURL(bad)); err == nil || strings.Contains(err.Error(), "pw") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	_, err = connectr.NewClient(connectr.WithAPIKey("cnr_a\r\nX-Evil: 1"))
	if err == nil || strings.Contains(err.Error(), "cnr_a") {
		t.Fatalf("key with CR LF: %v", err)
	}
	// The env key is sent; an explicit one wins.
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		_, _ = io.WriteString(w, `{"connectors":[]}`)
		if r.Header.Get("Authorization") != "Bearer cnr_explicit" {
			t.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
	})
	c, _ = connectr.NewClient(connectr.WithBaseURL(srv.URL), connectr.WithAPIKey("cnr_explicit"))
	if _, err := c.ListConnectors(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyIDsRefused(t *testing.T) {
	srv, count := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		_, _ = io.WriteString(w, `{"connections":[],"next_cursor":null}`)
	})
	c := fakeClient(t, srv.URL, &sleeps{})
	ctx := context.Background()
	if _, err := c.GetConnection(ctx, ""); err == nil {
		t.Fatal("GetConnection(\"\") would read the list route")
	}
	if _, err := c.DeleteConnection(ctx, ""); err == nil {
		t.Fatal("DeleteConnection(\"\")")
	}
	if _, err := c.Proxy(ctx, connectr.ProxyRequest{Path: "x"}); err == nil {
		t.Fatal("Proxy without a connection")
	}
	if count.Load() != 0 {
		t.Fatalf("%d requests sent", count.Load())
	}
}

// TestWebhookRequests checks the method, path, query and body each webhook call sends.
func TestWebhookRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/webhooks" && r.Method == http.MethodGet:
			fmt.Fprint(w, `{"webhooks":[{"id":"wh_1","url":"https://example.com/h","events":["connection.deleted"],"description":null,"disabled":false,"disabled_reason":null,"created_at":"t","updated_at":"t"}]}`)
		case strings.HasSuffix(r.URL.Path, "/deliveries"):
			fmt.Fprint(w, `{"deliveries":[{"event_id":"msg_1","type":"webhook.test","state":"delivered","attempts":1,"next_attempt_at":null,"last_attempt_at":"t","last_status":204,"last_latency_ms":3,"last_error":null,"created_at":"t"}]}`)
		case strings.HasSuffix(r.URL.Path, "/test"):
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"event_id":"msg_1"}`)
		case strings.HasSuffix(r.URL.Path, "/redeliver"):
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"event_id":"msg_1","type":"webhook.test","state":"pending","attempts":1,"next_attempt_at":"t","last_attempt_at":"t","last_status":204,"last_latency_ms":3,"last_error":null,"created_at":"t"}`)
		case r.Method == http.MethodDelete:
			fmt.Fprint(w, `{"deleted":true}`)
		default:
			fmt.Fprint(w, `{"id":"wh_1","url":"https://example.com/h","events":["connection.deleted"],"description":"d","disabled":false,"disabled_reason":null,"created_at":"t","updated_at":"t","secret":"whsec_AAAA"}`)
		}
	})
	c := fakeClient(t, srv.URL, &sleeps{})
	ctx := context.Background()
	description, disabled := "d", false
	made, err := c.CreateWebhook(ctx, connectr.CreateWebhookRequest{URL: "https://example.com/h", Events: []string{connectr.EventConnectionDeleted}})
	if err != nil || made.Secret != "whsec_AAAA" || made.ID != "wh_1" {
		t.Fatalf("create %+v %v", made, err)
	}
	list, err := c.ListWebhooks(ctx)
	if err != nil || len(list) != 1 || list[0].Description != nil {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := c.GetWebhook(ctx, "wh/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateWebhook(ctx, "wh_1", connectr.UpdateWebhookRequest{Description: &description, Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if rotated, err := c.RotateWebhookSecret(ctx, "wh_1"); err != nil || rotated.Secret != "whsec_AAAA" {
		t.Fatalf("rotate %v", err)
	}
	if queued, err := c.TestWebhook(ctx, "wh_1"); err != nil || queued.EventID != "msg_1" {
		t.Fatalf("test %v", err)
	}
	deliveries, err := c.ListWebhookDeliveries(ctx, "wh_1", connectr.ListWebhookDeliveriesOptions{Limit: 10})
	if err != nil || len(deliveries) != 1 || *deliveries[0].LastStatus != 204 || deliveries[0].State != "delivered" {
		t.Fatalf("deliveries %+v %v", deliveries, err)
	}
	if again, err := c.RedeliverWebhook(ctx, "wh_1", "msg_1"); err != nil || again.State != "pending" {
		t.Fatalf("redeliver %+v %v", again, err)
	}
	if gone, err := c.DeleteWebhook(ctx, "wh_1"); err != nil || !gone.Deleted {
		t.Fatalf("delete %v", err)
	}
	for _, bad := range []string{"", ".", ".."} {
		if _, err := c.GetWebhook(ctx, bad); err == nil {
			t.Fatalf("id %q was sent", bad)
		}
		if _, err := c.RedeliverWebhook(ctx, "wh_1", bad); err == nil {
			t.Fatalf("event id %q was sent", bad)
		}
	}
	want := []string{
		`POST /api/v1/webhooks {"url":"https://example.com/h","events":["connection.deleted"]}`,
		`GET /api/v1/webhooks`,
		`GET /api/v1/webhooks/wh%2F1`,
		`PATCH /api/v1/webhooks/wh_1 {"description":"d","disabled":false}`,
		`POST /api/v1/webhooks/wh_1/rotate-secret`,
		`POST /api/v1/webhooks/wh_1/test`,
		`GET /api/v1/webhooks/wh_1/deliveries?limit=10`,
		`POST /api/v1/webhooks/wh_1/deliveries/msg_1/redeliver`,
		`DELETE /api/v1/webhooks/wh_1`,
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
