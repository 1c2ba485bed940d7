package connectr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// ProxyRequest is a raw request to a connection's API through
// /api/v1/connections/{id}/proxy/{path}: the server adds the credential and streams both bodies.
type ProxyRequest struct {
	ConnectionID string
	Method       string // GET (the default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS
	// Path under the host's base path, unescaped, e.g. "gmail/v1/users/me/profile" or
	// "me/drive/root:/big.iso:/content". Characters outside a URL path are escaped; "." and
	// ".." segments are refused by the server (ErrInvalidInput naming params.path).
	Path   string
	Query  url.Values
	Header http.Header
	// Host is the key of the connector's host (x-connectr-host), e.g. "content" for Dropbox's
	// uploads and downloads; empty: the connector's first host.
	Host string
	// Body is streamed upstream as it is read, never held whole. ContentLength is its size
	// when known (sent as Content-Length); 0 with a Body of unknown size sends it chunked.
	Body          io.Reader
	ContentLength int64
	// Retry allows retrying a non-idempotent method. A request is retried only when its body
	// can be sent again: none, or an io.ReadSeeker (sought back to where it started).
	Retry bool
}

// Proxy sends a raw request and returns the API's answer as it comes: its status (any, 3xx
// included: redirects are not followed), headers and streaming body, which the caller must
// close. The server's own refusals (unknown connection, needs_reauth, a bad path, upstream
// unreachable) are *APIError values instead; an answer of the API that looks exactly like
// connectr's envelope (a known code at its status) cannot be told apart and is one too.
func (c *Client) Proxy(ctx context.Context, req ProxyRequest) (*http.Response, error) {
	if err := required("Proxy", "connection id", req.ConnectionID); err != nil {
		return nil, err
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		return nil, fmt.Errorf("connectr: the raw proxy does not take the method %q", sanitize(method))
	}
	header := http.Header{}
	for name, values := range req.Header {
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("connectr: the header %q holds a CR, LF or NUL", sanitize(name))
			}
		}
		header[http.CanonicalHeaderKey(name)] = values
	}
	if req.Host != "" {
		if strings.ContainsAny(req.Host, "\r\n\x00") {
			return nil, errors.New("connectr: ProxyRequest.Host holds a CR, LF or NUL")
		}
		header.Set("X-Connectr-Host", req.Host)
	}
	k := call{
		method: method,
		path:   "/api/v1/connections/" + segment(req.ConnectionID) + "/proxy/" + escapeProxyPath(req.Path),
		query:  req.Query,
		header: header,
		retry:  req.Retry,
		stream: true,
	}
	if req.Body != nil {
		length := req.ContentLength
		if length == 0 {
			switch b := req.Body.(type) {
			case *bytes.Reader:
				length = int64(b.Len())
			case *bytes.Buffer:
				length = int64(b.Len())
			case *strings.Reader:
				length = int64(b.Len())
			default:
				length = -1
			}
		}
		body := req.Body
		if seeker, ok := body.(io.ReadSeeker); ok {
			start, err := seeker.Seek(0, io.SeekCurrent)
			if err == nil {
				k.replayable = true
				first := true
				k.body = func() (io.Reader, int64) {
					if !first {
						if _, err := seeker.Seek(start, io.SeekStart); err != nil {
							return errReader{err}, length
						}
					}
					first = false
					return io.NopCloser(seeker), length
				}
			}
		}
		if k.body == nil {
			k.body = func() (io.Reader, int64) { return io.NopCloser(body), length }
		}
	}
	resp, err := c.send(ctx, k)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		if apiErr := c.proxyError(resp, k); apiErr != nil {
			return nil, apiErr
		}
	}
	return resp, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// proxyError is the server's own envelope, or nil with the body left readable from its start.
func (c *Client) proxyError(resp *http.Response, k call) error {
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		resp.Body.Close()
		return err
	}
	var env envelope
	if json.Unmarshal(head, &env) == nil && env.Error != nil {
		if known, ok := codes[env.Error.Code]; ok && known.status == resp.StatusCode && env.Error.Message != "" {
			resp.Body.Close()
			e := apiErrorOf(head, resp.StatusCode)
			e.RequestID = resp.Header.Get("X-Request-Id")
			e.Method, e.Path = k.method, k.path
			return e
		}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return nil
}

// escapeProxyPath escapes what cannot stand in a URL path, keeping "/" and the characters
// APIs use in paths (":", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=").
func escapeProxyPath(p string) string {
	p = strings.TrimLeft(p, "/")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') || ('0' <= ch && ch <= '9') || strings.IndexByte("-._~/:@!$&'()*+,;=", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}
