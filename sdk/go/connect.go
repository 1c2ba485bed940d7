package connectr

import (
	"context"
	"fmt"
	"net/http"
)

// EndUser is the end user a Connect session is for: ID (your id of them) becomes the
// connection's user_id; Email and DisplayName are shown on the page.
type EndUser struct {
	ID          string `json:"id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// ConnectSessionInput is the body of POST /api/v1/connect/sessions.
type ConnectSessionInput struct {
	EndUser EndUser `json:"end_user"`
	// AllowedConnectors the page offers; empty: every connector it can connect.
	AllowedConnectors []string `json:"allowed_connectors,omitempty"`
	// ConnectionID signs that connection in again (e.g. one that needs_reauth) instead of
	// making a new one.
	ConnectionID string `json:"connection_id,omitempty"`
	// ReturnURL is where the browser goes at the end (?connection_id=…&status=connected, or
	// ?status=error&error=<code>); its origin must be allowed (PutConnectSettings).
	ReturnURL string `json:"return_url,omitempty"`
	// Tags are the labels the new connection gets.
	Tags map[string]string `json:"tags,omitempty"`
}

// ConnectSession is a Connect page for one end user: give the browser ConnectURL as it is (the
// token is in its fragment). The token opens the page for 30 minutes, once, and no API route.
// Printing it shows neither the token nor the URL holding it.
type ConnectSession struct {
	Token      string `json:"token"`
	ConnectURL string `json:"connect_url"`
	ExpiresAt  string `json:"expires_at"` // RFC 3339, like every time of the API
}

func (s ConnectSession) String() string {
	return fmt.Sprintf("connectr.ConnectSession{expires_at: %s, token: [REDACTED], connect_url: [REDACTED]}", s.ExpiresAt)
}
func (s ConnectSession) GoString() string { return s.String() }

// ConnectSettings are the project's Connect settings: the exact origins
// (https://app.example.com; http only on 127.0.0.1, localhost or [::1]) the Connect page may
// return to, post its outcome to and be framed by.
type ConnectSettings struct {
	AllowedOrigins []string `json:"allowed_origins"`
}

// CreateConnectSession is POST /api/v1/connect/sessions. A ReturnURL on an origin the project
// has not allowed is ErrInvalidInput (400); an unknown ConnectionID, ErrNotFound. A POST: not
// retried.
func (c *Client) CreateConnectSession(ctx context.Context, in ConnectSessionInput) (*ConnectSession, error) {
	var out ConnectSession
	return result(&out, c.do(ctx, http.MethodPost, "/api/v1/connect/sessions", nil, in, &out))
}

// GetConnectSettings is GET /api/v1/connect/settings.
func (c *Client) GetConnectSettings(ctx context.Context) (*ConnectSettings, error) {
	var out ConnectSettings
	return result(&out, c.do(ctx, http.MethodGet, "/api/v1/connect/settings", nil, nil, &out))
}

// PutConnectSettings is PUT /api/v1/connect/settings: replaces the project's allowed origins
// (nil or empty: none).
func (c *Client) PutConnectSettings(ctx context.Context, allowedOrigins []string) (*ConnectSettings, error) {
	if allowedOrigins == nil {
		allowedOrigins = []string{}
	}
	var out ConnectSettings
	return result(&out, c.do(ctx, http.MethodPut, "/api/v1/connect/settings", nil, ConnectSettings{AllowedOrigins: allowedOrigins}, &out))
}
