package connectr_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

// gated yields first, then waits for open before yielding rest: a client that holds the
// whole body before sending it never lets the server see first, and the read fails.
type gated struct {
	first, rest string
	open        chan struct{}
	step        int
	timedOut    bool
}

func (g *gated) Read(p []byte) (int, error) {
	switch g.step {
	case 0:
		g.step++
		return copy(p, g.first), nil
	case 1:
		select {
		case <-g.open:
		case <-time.After(5 * time.Second):
			g.timedOut = true
			return 0, errors.New("the server never saw the first bytes: the body was buffered, not streamed")
		}
		g.step++
		return copy(p, g.rest), nil
	}
	return 0, io.EOF
}

// streamingServer closes open once it has read want from the body, then reads the rest.
func streamingServer(t *testing.T, want string, open chan struct{}) string {
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var seen []byte
		buf := make([]byte, 1024)
		for !strings.Contains(string(seen), want) {
			n, err := r.Body.Read(buf)
			seen = append(seen, buf[:n]...)
			if strings.Contains(string(seen), want) {
				break
			}
			if err != nil || len(seen) > 64<<10 {
				t.Errorf("never saw %q, got %q (%v)", want, seen, err)
				return
			}
		}
		close(open)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":200,"headers":{},"content_type":null,"encoding":"none","body":null}`)
	})
	return srv.URL
}

func TestProxyUploadStreams(t *testing.T) {
	open := make(chan struct{})
	url := streamingServer(t, "first-chunk", open)
	g := &gated{first: "first-chunk", rest: "the rest", open: open}
	resp, err := fakeClient(t, url, &sleeps{}).Proxy(context.Background(), connectr.ProxyRequest{
		ConnectionID: "c", Method: "PUT", Path: "f", Body: g})
	if err != nil || g.timedOut {
		t.Fatalf("%v, timed out: %v", err, g.timedOut)
	}
	resp.Body.Close()
}

func TestExecuteUploadStreams(t *testing.T) {
	open := make(chan struct{})
	// The JSON head and the base64 of the first 12 bytes ("first-chunk!" is 12 bytes: 16 base64 chars).
	url := streamingServer(t, `"body_base64":"Zmlyc3QtY2h1bmsh`, open)
	g := &gated{first: "first-chunk!", rest: "rest", open: open}
	_, err := fakeClient(t, url, &sleeps{}).Execute(context.Background(), connectr.ExecuteRequest{
		ConnectionID: "c", Endpoint: "upload", BodyReader: g})
	if err != nil || g.timedOut {
		t.Fatalf("%v, timed out: %v", err, g.timedOut)
	}
}

func TestProxyDownloadStreams(t *testing.T) {
	read := make(chan struct{})
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "part one;")
		w.(http.Flusher).Flush()
		select {
		case <-read:
		case <-time.After(5 * time.Second):
			return
		}
		_, _ = io.WriteString(w, "part two")
	})
	resp, err := fakeClient(t, srv.URL, &sleeps{}, connectr.WithTimeout(time.Second)).Proxy(context.Background(), connectr.ProxyRequest{ConnectionID: "c", Path: "f"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 9)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "part one;" {
		t.Fatalf("%q %v", buf, err)
	}
	close(read)
	// The attempt's time-out stopped at the headers: a slow reader is not cut off.
	time.Sleep(1200 * time.Millisecond)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "part two" {
		t.Fatalf("%q %v", rest, err)
	}
}
