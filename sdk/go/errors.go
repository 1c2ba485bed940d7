package connectr

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, one per code of the server's error envelope
// ({"error": {"code", "message", "details", "hint"}}). An *APIError matches the sentinel
// of its code with errors.Is:
//
//	if errors.Is(err, connectr.ErrNotFound) { ... }
//
// errors.As(err, &apiErr) gives the status, message, details, hint and request id.
var (
	ErrUsage                = errors.New("connectr: usage")                  // 400 usage
	ErrInvalidInput         = errors.New("connectr: invalid input")          // 400 invalid_input
	ErrInvalidConnector     = errors.New("connectr: invalid connector")      // 400 invalid_connector
	ErrAuthRequired         = errors.New("connectr: auth required")          // 401 auth_required
	ErrAuthExpired          = errors.New("connectr: auth expired")           // 401 auth_expired
	ErrForbidden            = errors.New("connectr: forbidden")              // 403 forbidden
	ErrNotFound             = errors.New("connectr: not found")              // 404 not_found
	ErrMethodNotAllowed     = errors.New("connectr: method not allowed")     // 405 method_not_allowed
	ErrConflict             = errors.New("connectr: conflict")               // 409 conflict
	ErrNeedsReauth          = errors.New("connectr: needs reauth")           // 409 needs_reauth
	ErrPayloadTooLarge      = errors.New("connectr: payload too large")      // 413 payload_too_large
	ErrUnsupportedMediaType = errors.New("connectr: unsupported media type") // 415 unsupported_media_type
	ErrInternal             = errors.New("connectr: internal")               // 500 internal
	ErrUpstream             = errors.New("connectr: upstream")               // 502 upstream
	ErrUnavailable          = errors.New("connectr: unavailable")            // 503 unavailable
	ErrCancelled            = errors.New("connectr: cancelled")              // 503 cancelled
	ErrTimeout              = errors.New("connectr: timeout")                // 504 timeout (the server's)

	// ErrUnknownCode matches an *APIError whose code this SDK does not know (a newer server).
	ErrUnknownCode = errors.New("connectr: unknown error code")

	// ErrNetwork matches a *NetworkError: the server could not be reached, or the connection
	// broke (refused, reset, cut off mid-answer, a malformed answer).
	ErrNetwork = errors.New("connectr: network error")
	// ErrRequestTimeout matches a *TimeoutError: the client's own time-out (WithTimeout) ran out.
	ErrRequestTimeout = errors.New("connectr: request timed out")
)

// codes maps each envelope code to its sentinel and its HTTP status (src/server/errors.ts).
var codes = map[string]struct {
	err    error
	status int
}{
	"usage":                  {ErrUsage, 400},
	"invalid_input":          {ErrInvalidInput, 400},
	"invalid_connector":      {ErrInvalidConnector, 400},
	"auth_required":          {ErrAuthRequired, 401},
	"auth_expired":           {ErrAuthExpired, 401},
	"forbidden":              {ErrForbidden, 403},
	"not_found":              {ErrNotFound, 404},
	"method_not_allowed":     {ErrMethodNotAllowed, 405},
	"conflict":               {ErrConflict, 409},
	"needs_reauth":           {ErrNeedsReauth, 409},
	"payload_too_large":      {ErrPayloadTooLarge, 413},
	"unsupported_media_type": {ErrUnsupportedMediaType, 415},
	"internal":               {ErrInternal, 500},
	"upstream":               {ErrUpstream, 502},
	"follow_refused":         {ErrUpstream, 502}, // a redirect or page link the server refused to follow
	"unavailable":            {ErrUnavailable, 503},
	"cancelled":              {ErrCancelled, 503},
	"timeout":                {ErrTimeout, 504},
}

// ErrorDetail is one problem of an error answer; Field names the request field at fault
// (body.user_id, query.cursor, params.path) when there is one.
type ErrorDetail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// APIError is an error answer of connectr serve (its envelope), or an error line at the end
// of an execute "all" stream (Status is then the status of the code, the stream itself having
// answered 200).
type APIError struct {
	Status    int           // HTTP status
	Code      string        // stable, for programs: not_found, invalid_input, ...
	Message   string        // for people
	Details   []ErrorDetail // one entry per problem
	Hint      string        // how to fix it, when the server knows
	RequestID string        // x-request-id of the answer: quote it when reporting a problem
	Method    string        // the request's method
	Path      string        // the request's path, without its query string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connectr: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	for _, d := range e.Details {
		if d.Field != "" {
			fmt.Fprintf(&b, " [%s: %s]", d.Field, d.Message)
		}
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (hint: %s)", e.Hint)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return sanitize(b.String())
}

// Is makes errors.Is(err, ErrNotFound) (and the other sentinels) work.
func (e *APIError) Is(target error) bool {
	if c, ok := codes[e.Code]; ok {
		return target == c.err
	}
	return target == ErrUnknownCode
}

// Field reports whether one of the details names field (e.g. "body.connector_type").
func (e *APIError) Field(field string) bool {
	for _, d := range e.Details {
		if d.Field == field {
			return true
		}
	}
	return false
}

// NetworkError is a failure to reach connectr serve or to read its answer. It wraps the
// cause (a *net.OpError, io.ErrUnexpectedEOF, ...), never the request's URL query or headers.
type NetworkError struct {
	Method string
	Path   string
	Err    error
}

func (e *NetworkError) Error() string {
	return sanitize(fmt.Sprintf("connectr: %s %s: network error: %v", e.Method, e.Path, e.Err))
}
func (e *NetworkError) Unwrap() error        { return e.Err }
func (e *NetworkError) Is(target error) bool { return target == ErrNetwork }

// TimeoutError is the client's own time-out (WithTimeout) running out. It wraps the cause
// (context.DeadlineExceeded, or the transport's time-out error).
type TimeoutError struct {
	Method  string
	Path    string
	Timeout string
	Err     error
}

func (e *TimeoutError) Error() string {
	return sanitize(fmt.Sprintf("connectr: %s %s: no answer within %s: %v", e.Method, e.Path, e.Timeout, e.Err))
}
func (e *TimeoutError) Unwrap() error        { return e.Err }
func (e *TimeoutError) Is(target error) bool { return target == ErrRequestTimeout }

// sanitize escapes control characters (a message comes from a server: it must not drive a
// terminal) and bounds the length.
func sanitize(s string) string {
	const max = 4096
	var b strings.Builder
	for _, r := range s {
		if b.Len() > max {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
