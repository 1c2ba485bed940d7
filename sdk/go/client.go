// Package connectr is the Go client of connectr serve, the REST API of connectr
// (docs/server.md): connectors, connections, OAuth sign-ins, OAuth apps, execute (one
// endpoint of a connector, or every item of every page as a stream), the raw proxy and
// access tokens.
//
//	client, err := connectr.NewClient() // CONNECTR_URL and CONNECTR_API_KEY
//	res, err := client.Execute(ctx, connectr.ExecuteRequest{
//		ConnectionID: id, Endpoint: "list_messages", Params: map[string]any{"q": "is:unread"},
//	})
//
// Every error answer is an *APIError matching the sentinel of its code (errors.Is(err,
// connectr.ErrNotFound)); a server out of reach is a *NetworkError (ErrNetwork) and the
// client's own time-out a *TimeoutError (ErrRequestTimeout). Idempotent calls are retried on
// 429, 502, 503, 504 and network failures with exponential backoff and jitter, honouring
// Retry-After; POST calls only when asked (ExecuteRequest.Retry, ProxyRequest.Retry).
package connectr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is where connectr serve listens by default (docs/server.md).
const DefaultBaseURL = "http://127.0.0.1:5000"

// DefaultTimeout bounds each attempt of a call until its answer is read (for streams: until
// the answer's headers arrive). The server gives an upstream API 120 s.
const DefaultTimeout = 130 * time.Second

// Version of this SDK, sent in the User-Agent.
const Version = "0.1.0"

// maxJSONAnswer bounds what the client reads of a JSON answer (execute answers hold up to
// 16 MiB of upstream body, more once base64-encoded).
const maxJSONAnswer = 64 << 20

// RetryPolicy says how failed attempts are retried.
type RetryPolicy struct {
	// MaxRetries is the number of attempts after the first (0: never retry).
	MaxRetries int
	// BaseDelay is the first backoff; each retry doubles it, up to MaxDelay. The wait is
	// drawn between half of it and all of it (jitter).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps a server's Retry-After (seconds or an HTTP date).
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends (tests inject their own); nil: a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock Retry-After dates are read against; nil: time.Now.
	Now func() time.Time
}

// DefaultRetryPolicy: 3 retries, 250 ms doubling up to 8 s, Retry-After capped at 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, BaseDelay: 250 * time.Millisecond, MaxDelay: 8 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// Client calls one connectr serve. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	auth    *credential // a pointer: printing a Client (%v, %+v) shows an address, not the key
	http    *http.Client
	timeout time.Duration
	retry   RetryPolicy
	ua      string
}

type credential struct{ apiKey string }

// String never shows the API key.
func (c *Client) String() string {
	return fmt.Sprintf("connectr.Client{base: %s, api key: %s}", c.base, c.auth)
}

// GoString never shows the API key.
func (c *Client) GoString() string { return c.String() }

func (k *credential) String() string {
	if k == nil || k.apiKey == "" {
		return "none"
	}
	return "[REDACTED]"
}
func (k *credential) GoString() string { return k.String() }

// Option configures NewClient.
type Option func(*settings) error

type settings struct {
	apiKey, baseURL *string
	http            *http.Client
	timeout         time.Duration
	retry           RetryPolicy
}

// WithAPIKey sets the API key (else CONNECTR_API_KEY).
func WithAPIKey(key string) Option {
	return func(s *settings) error { s.apiKey = &key; return nil }
}

// WithBaseURL sets the server's address, e.g. http://127.0.0.1:5000 (else CONNECTR_URL, else
// DefaultBaseURL). A path prefix (behind a reverse proxy) is kept.
func WithBaseURL(u string) Option {
	return func(s *settings) error { s.baseURL = &u; return nil }
}

// WithHTTPClient sets the *http.Client (its Transport, proxies, TLS). Its Timeout should be 0:
// streams (ExecuteAll, Proxy) last as long as the caller reads; WithTimeout bounds attempts.
// Redirects are never followed (the raw proxy passes upstream's 3xx back as it is).
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return errors.New("connectr: WithHTTPClient(nil)")
		}
		s.http = hc
		return nil
	}
}

// WithTimeout bounds each attempt (default DefaultTimeout; 0 means none): until the answer is
// read, or for streams until its headers have arrived. A context deadline bounds the whole call.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d < 0 {
			return errors.New("connectr: negative timeout")
		}
		s.timeout = d
		return nil
	}
}

// WithRetries sets how many times a failed attempt is retried (0: never).
func WithRetries(n int) Option {
	return func(s *settings) error {
		if n < 0 {
			return errors.New("connectr: negative retries")
		}
		s.retry.MaxRetries = n
		return nil
	}
}

// WithRetryPolicy replaces the whole retry policy (zero durations take the defaults).
func WithRetryPolicy(p RetryPolicy) Option {
	return func(s *settings) error {
		if p.MaxRetries < 0 {
			return errors.New("connectr: negative retries")
		}
		d := DefaultRetryPolicy()
		if p.BaseDelay <= 0 {
			p.BaseDelay = d.BaseDelay
		}
		if p.MaxDelay <= 0 {
			p.MaxDelay = d.MaxDelay
		}
		if p.MaxRetryAfter <= 0 {
			p.MaxRetryAfter = d.MaxRetryAfter
		}
		s.retry = p
		return nil
	}
}

// NewClient makes a client from the options, CONNECTR_URL and CONNECTR_API_KEY.
func NewClient(opts ...Option) (*Client, error) {
	s := settings{timeout: DefaultTimeout, retry: DefaultRetryPolicy()}
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	key := os.Getenv("CONNECTR_API_KEY")
	if s.apiKey != nil {
		key = *s.apiKey
	}
	for _, r := range key {
		if r < 0x21 || r == 0x7f {
			// Never quote the key: the message may end up in a log.
			return nil, errors.New("connectr: the API key holds a space or a control character")
		}
	}
	raw := os.Getenv("CONNECTR_URL")
	if s.baseURL != nil {
		raw = *s.baseURL
	}
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("connectr: the base URL must be http(s)://host[:port][/prefix], without credentials or query (got %q)", redactURL(raw))
	}
	hc := s.http
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		base:    base,
		auth:    &credential{apiKey: key},
		http:    &noRedirects,
		timeout: s.timeout,
		retry:   s.retry,
		ua:      "connectr-go/" + Version,
	}, nil
}

// BaseURL is the server's address the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	u.RawQuery = ""
	return u.String()
}

// call describes one request.
type call struct {
	method string
	path   string // escaped, under the base URL: /api/v1/...
	query  url.Values
	header http.Header
	// body gives a fresh body for each attempt; replayable says whether it can be called
	// twice (a caller's io.Reader cannot).
	body       func() (io.Reader, int64)
	replayable bool
	retry      bool // the caller allows retrying a non-idempotent method
	stream     bool // the answer is read at the caller's pace: the time-out stops at the headers
	noAuth     bool
}

var errClientTimeout = errors.New("client time-out")

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func retryableStatus(status int) bool {
	return status == 429 || status == 502 || status == 503 || status == 504
}

// send makes the attempts of one call. The answer's body, whatever its status, must be
// closed by the caller; closing it releases the attempt's time-out.
func (c *Client) send(ctx context.Context, k call) (*http.Response, error) {
	target := *c.base
	unescaped, err := url.PathUnescape(k.path)
	if err != nil {
		return nil, fmt.Errorf("connectr: %s %s: malformed path: %w", k.method, k.path, err)
	}
	target.Path = c.base.Path + unescaped
	target.RawPath = c.base.EscapedPath() + k.path
	target.RawQuery = k.query.Encode()
	canRetry := (idempotent(k.method) || k.retry) && (k.body == nil || k.replayable)
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, k, &target)
		last := !canRetry || attempt >= c.retry.MaxRetries
		if err != nil {
			var netErr *NetworkError
			var toErr *TimeoutError
			if last || ctx.Err() != nil || !(errors.As(err, &netErr) || errors.As(err, &toErr)) {
				return nil, err
			}
			if serr := c.sleep(ctx, c.backoff(attempt)); serr != nil {
				return nil, serr
			}
			continue
		}
		if last || !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		wait, ok := c.retryAfter(resp.Header.Get("Retry-After"))
		if !ok {
			wait = c.backoff(attempt)
		}
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
}

func (c *Client) attempt(ctx context.Context, k call, target *url.URL) (*http.Response, error) {
	actx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, func() { cancel(errClientTimeout) })
	}
	stop := func() {
		if timer != nil {
			timer.Stop()
		}
	}
	var body io.Reader
	length := int64(0)
	if k.body != nil {
		body, length = k.body()
	}
	req, err := http.NewRequestWithContext(actx, k.method, target.String(), body)
	if err != nil {
		stop()
		cancel(nil)
		if closer, ok := body.(io.Closer); ok {
			closer.Close() // ends the goroutine feeding a streamed body
		}
		return nil, fmt.Errorf("connectr: %s %s: %w", k.method, k.path, err)
	}
	if body != nil {
		req.ContentLength = length // -1: unknown, sent chunked
		if length == 0 {
			req.Body = http.NoBody
		}
	}
	for name, values := range k.header {
		req.Header[name] = values
	}
	req.Header.Set("User-Agent", c.ua)
	if !k.noAuth && c.auth.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.auth.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		stop()
		cause := context.Cause(actx)
		cancel(nil)
		return nil, c.transportError(ctx, k, cause, err)
	}
	if k.stream {
		stop()
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, ctx: ctx, actx: actx, k: k, c: c, release: func() { stop(); cancel(nil) }}
	return resp, nil
}

// transportError types a failed attempt: the caller's context (returned as it is, wrapped
// with the route), the client's time-out, or the network. Never the URL's query.
func (c *Client) transportError(ctx context.Context, k call, cause, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("connectr: %s %s: %w", k.method, k.path, context.Cause(ctx))
	}
	if errors.Is(cause, errClientTimeout) {
		return &TimeoutError{Method: k.method, Path: k.path, Timeout: c.timeout.String(), Err: context.DeadlineExceeded}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &TimeoutError{Method: k.method, Path: k.path, Timeout: "the transport's time-out", Err: err}
	}
	return &NetworkError{Method: k.method, Path: k.path, Err: err}
}

// attemptBody types read failures and releases the attempt's time-out on Close.
type attemptBody struct {
	io.ReadCloser
	ctx, actx context.Context
	k         call
	c         *Client
	release   func()
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.c.transportError(b.ctx, b.k, context.Cause(b.actx), err)
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.retry.Sleep != nil {
		return c.retry.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// backoff is the wait before retry attempt+1: BaseDelay·2^attempt, capped, with jitter (half
// of it fixed, half random).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay
	for i := 0; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	if d > c.retry.MaxDelay {
		d = c.retry.MaxDelay
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped at MaxRetryAfter.
func (c *Client) retryAfter(value string) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(c.retry.MaxRetryAfter/time.Second)+1 {
			return c.retry.MaxRetryAfter, true
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(value); err == nil {
		now := time.Now
		if c.retry.Now != nil {
			now = c.retry.Now
		}
		d = at.Sub(now())
		if d < 0 {
			d = 0
		}
	} else {
		return 0, false
	}
	if d > c.retry.MaxRetryAfter {
		d = c.retry.MaxRetryAfter
	}
	return d, true
}

// do sends a call with an optional JSON body and decodes a JSON answer into out (nil: none).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	k := call{method: method, path: path, query: query}
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("connectr: %s %s: encoding the body: %w", method, path, err)
		}
		k.body = func() (io.Reader, int64) { return bytes.NewReader(data), int64(len(data)) }
		k.replayable = true
		k.header = http.Header{"Content-Type": {"application/json"}}
	}
	return c.doCall(ctx, k, out)
}

func (c *Client) doCall(ctx context.Context, k call, out any) error {
	resp, err := c.send(ctx, k)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return c.errorOf(resp, k)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONAnswer+1))
	if err != nil {
		return err
	}
	if len(data) > maxJSONAnswer {
		return &NetworkError{Method: k.method, Path: k.path, Err: fmt.Errorf("the answer is larger than %d bytes", maxJSONAnswer)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &NetworkError{Method: k.method, Path: k.path, Err: fmt.Errorf("the answer (%d) is not the JSON expected: %w", resp.StatusCode, err)}
	}
	return nil
}

type envelope struct {
	Error *struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
		Hint    string          `json:"hint"`
	} `json:"error"`
}

// errorOf reads an error answer (at most 1 MiB of it) as an *APIError.
func (c *Client) errorOf(resp *http.Response, k call) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		var ne *NetworkError
		var te *TimeoutError
		if errors.As(err, &ne) || errors.As(err, &te) {
			return err
		}
	}
	e := apiErrorOf(data, resp.StatusCode)
	e.RequestID = resp.Header.Get("X-Request-Id")
	e.Method, e.Path = k.method, k.path
	return e
}

func apiErrorOf(data []byte, status int) *APIError {
	var env envelope
	if json.Unmarshal(data, &env) == nil && env.Error != nil && env.Error.Code != "" {
		return &APIError{Status: status, Code: env.Error.Code, Message: env.Error.Message, Hint: env.Error.Hint, Details: detailsOf(env.Error.Details)}
	}
	// Not connectr's envelope (a proxy in front of it, a crash): the status, and a bounded,
	// escaped excerpt of the body for people.
	excerpt := string(data)
	if len(excerpt) > 200 {
		excerpt = excerpt[:200] + "…"
	}
	return &APIError{Status: status, Message: strings.TrimSpace(http.StatusText(status) + ": " + excerpt)}
}

// detailsOf reads details, entries being objects {field?, message} or (older servers) strings.
func detailsOf(raw json.RawMessage) []ErrorDetail {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]ErrorDetail, 0, len(items))
	for _, item := range items {
		var d ErrorDetail
		if json.Unmarshal(item, &d) == nil {
			out = append(out, d)
			continue
		}
		var s string
		if json.Unmarshal(item, &s) == nil {
			out = append(out, ErrorDetail{Message: s})
		}
	}
	return out
}

// segment escapes one path segment (an id, a connector name) so it stays one segment.
func segment(s string) string { return url.PathEscape(s) }
