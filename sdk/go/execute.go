package connectr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
)

// ExecuteRequest is POST /api/v1/proxy/execute: one endpoint of a connection's connector.
type ExecuteRequest struct {
	ConnectionID string
	Endpoint     string         // as in ListEndpoints
	Params       map[string]any // by param name, as the endpoint declares them

	// At most one body: Body replaces the body params with a whole body (a string is sent as
	// it is, anything else as JSON); BodyBytes and BodyReader send bytes (an upload).
	// BodyReader is read as the request is sent, base64-encoded on the fly, never held whole.
	Body       any
	BodyBytes  []byte
	BodyReader io.Reader

	// ExecuteAll only: stop after this many pages or items (0: the server's bounds).
	MaxPages int
	Limit    int

	// Retry allows retrying this POST (429, 502-504, network failures) like an idempotent
	// call: for endpoints you know are safe to repeat. Never with BodyReader (read once).
	Retry bool
}

// ExecuteResult is the upstream API's answer, whatever its status (the call was made).
type ExecuteResult struct {
	Status      int               // the API's own status: check it
	Headers     map[string]string // lower-case names
	ContentType string
	Encoding    string // json, text, base64 or none: what the server sent
	// Body is the answer's bytes: the JSON text (Encoding json), the text, or the decoded
	// bytes of a binary answer (base64); nil for none.
	Body []byte
	// Result is the JSON some APIs put in a header (Dropbox-API-Result), when the endpoint has one.
	Result json.RawMessage
}

// JSON decodes a JSON answer into v.
func (r *ExecuteResult) JSON(v any) error {
	if r.Encoding != "json" {
		return fmt.Errorf("connectr: the answer is %s, not JSON (content type %q)", r.Encoding, r.ContentType)
	}
	return json.Unmarshal(r.Body, v)
}

// Text is the answer as a string.
func (r *ExecuteResult) Text() string { return string(r.Body) }

type executeWire struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"`
	ContentType *string           `json:"content_type"`
	Encoding    string            `json:"encoding"`
	Body        json.RawMessage   `json:"body"`
	Result      json.RawMessage   `json:"result"`
}

const executePath = "/api/v1/proxy/execute"

// Execute runs one endpoint and returns the API's answer. A POST: retried only with Retry.
func (c *Client) Execute(ctx context.Context, req ExecuteRequest) (*ExecuteResult, error) {
	k, err := executeCall(req, false)
	if err != nil {
		return nil, err
	}
	var wire executeWire
	if err := c.doCall(ctx, k, &wire); err != nil {
		return nil, err
	}
	out := &ExecuteResult{Status: wire.Status, Headers: wire.Headers, Encoding: wire.Encoding}
	if wire.ContentType != nil {
		out.ContentType = *wire.ContentType
	}
	if len(wire.Result) > 0 && string(wire.Result) != "null" {
		out.Result = wire.Result
	}
	bad := func(err error) error {
		return &NetworkError{Method: k.method, Path: k.path, Err: fmt.Errorf("a %s body that is not: %w", wire.Encoding, err)}
	}
	switch wire.Encoding {
	case "json":
		out.Body = []byte(wire.Body)
	case "text":
		var s string
		if err := json.Unmarshal(wire.Body, &s); err != nil {
			return nil, bad(err)
		}
		out.Body = []byte(s)
	case "base64":
		var s string
		if err := json.Unmarshal(wire.Body, &s); err != nil {
			return nil, bad(err)
		}
		if out.Body, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, bad(err)
		}
	case "none":
	default:
		return nil, &NetworkError{Method: k.method, Path: k.path, Err: fmt.Errorf("unknown encoding %q", sanitize(wire.Encoding))}
	}
	return out, nil
}

// ExecuteAll follows the endpoint's pagination and yields every item of every page as the
// server streams them (NDJSON, read line by line). An error before the first item, or the
// error line the server ends a failed stream with, is yielded once as the last pair:
//
//	for item, err := range client.ExecuteAll(ctx, req) {
//		if err != nil { return err }
//		...
//	}
//
// The request is sent when the loop starts; breaking out of the loop closes the stream.
func (c *Client) ExecuteAll(ctx context.Context, req ExecuteRequest) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		k, err := executeCall(req, true)
		if err != nil {
			yield(nil, err)
			return
		}
		resp, err := c.send(ctx, k)
		if err != nil {
			yield(nil, err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 400 {
			yield(nil, c.errorOf(resp, k))
			return
		}
		lines := bufio.NewReaderSize(resp.Body, 64<<10)
		for {
			line, err := readLine(lines, maxJSONAnswer)
			if err == io.EOF {
				return
			}
			if err != nil {
				if errors.Is(err, errLineTooLong) || errors.Is(err, errCutLine) {
					err = &NetworkError{Method: k.method, Path: k.path, Err: err}
				}
				yield(nil, err)
				return
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if e := streamError(line); e != nil {
				e.RequestID = resp.Header.Get("X-Request-Id")
				e.Method, e.Path = k.method, k.path
				yield(nil, e)
				return
			}
			if !json.Valid(line) {
				yield(nil, &NetworkError{Method: k.method, Path: k.path, Err: errors.New("a stream line that is not JSON")})
				return
			}
			if !yield(json.RawMessage(line), nil) {
				return
			}
		}
	}
}

var (
	errLineTooLong = errors.New("a stream line is too long")
	errCutLine     = errors.New("the stream ended in the middle of a line")
)

// readLine reads one line (without its newline), at most max bytes.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) > 0:
			return nil, errCutLine
		default:
			return nil, err
		}
	}
}

// streamError is the error line a failed stream ends with: an object whose only key is
// "error", holding the envelope's code and message.
func streamError(line []byte) *APIError {
	var probe map[string]json.RawMessage
	if json.Unmarshal(line, &probe) != nil || len(probe) != 1 || probe["error"] == nil {
		return nil
	}
	var env envelope
	if json.Unmarshal(line, &env) != nil || env.Error == nil || env.Error.Code == "" || env.Error.Message == "" {
		return nil
	}
	status := 0
	if known, ok := codes[env.Error.Code]; ok {
		status = known.status
	}
	return &APIError{Status: status, Code: env.Error.Code, Message: env.Error.Message, Hint: env.Error.Hint, Details: detailsOf(env.Error.Details)}
}

// executeCall builds the request; a BodyReader is streamed into body_base64 through a pipe.
func executeCall(req ExecuteRequest, all bool) (call, error) {
	k := call{method: http.MethodPost, path: executePath, retry: req.Retry, stream: all,
		header: http.Header{"Content-Type": {"application/json"}}}
	bodies := 0
	for _, set := range []bool{req.Body != nil, req.BodyBytes != nil, req.BodyReader != nil} {
		if set {
			bodies++
		}
	}
	if bodies > 1 {
		return k, errors.New("connectr: give one of ExecuteRequest.Body, BodyBytes and BodyReader")
	}
	if req.MaxPages < 0 || req.Limit < 0 {
		return k, errors.New("connectr: ExecuteRequest.MaxPages and Limit must not be negative")
	}
	fields := map[string]any{"connection_id": req.ConnectionID, "endpoint": req.Endpoint}
	if req.Params != nil {
		fields["params"] = req.Params
	}
	if req.Body != nil {
		fields["body"] = req.Body
	}
	if req.BodyBytes != nil {
		fields["body_base64"] = base64.StdEncoding.EncodeToString(req.BodyBytes)
	}
	if all {
		fields["all"] = true
		if req.MaxPages > 0 {
			fields["max_pages"] = req.MaxPages
		}
		if req.Limit > 0 {
			fields["limit"] = req.Limit
		}
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return k, fmt.Errorf("connectr: encoding the execute request: %w", err)
	}
	if req.BodyReader == nil {
		k.body = func() (io.Reader, int64) { return bytes.NewReader(data), int64(len(data)) }
		k.replayable = true
		return k, nil
	}
	// {"connection_id": ..., ..., "body_base64": "<streamed>"}
	head := append(data[:len(data)-1:len(data)-1], []byte(`,"body_base64":"`)...)
	source := req.BodyReader
	k.body = func() (io.Reader, int64) {
		pr, pw := io.Pipe()
		go func() {
			if _, err := pw.Write(head); err != nil {
				return
			}
			enc := base64.NewEncoder(base64.StdEncoding, pw)
			if _, err := io.Copy(enc, source); err != nil {
				pw.CloseWithError(fmt.Errorf("connectr: reading ExecuteRequest.BodyReader: %w", err))
				return
			}
			if err := enc.Close(); err != nil {
				pw.CloseWithError(err)
				return
			}
			_, err := pw.Write([]byte(`"}`))
			pw.CloseWithError(err)
		}()
		return pr, -1
	}
	return k, nil
}
