package connectr

import (
	"encoding/json"
	"fmt"
)

// Health is GET /health.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Ready is GET /ready.
type Ready struct {
	Status string `json:"status"`
}

// ConnectorSummary is one entry of GET /api/v1/connectors.
type ConnectorSummary struct {
	Name          string   `json:"name"`
	DisplayName   string   `json:"display_name"`
	Description   string   `json:"description"`
	Version       string   `json:"version"`
	DocsURL       string   `json:"docs_url"`
	AuthType      string   `json:"auth_type"`
	Scopes        []string `json:"scopes"`
	EndpointCount int      `json:"endpoint_count"`
}

// Connector is GET /api/v1/connectors/{name}.
type Connector struct {
	ConnectorSummary
	Auth      ConnectorAuth `json:"auth"`
	Hosts     []Host        `json:"hosts"`
	Endpoints []Endpoint    `json:"endpoints"`
}

// ConnectorAuth says how a connector's connections authenticate upstream.
type ConnectorAuth struct {
	Type   string   `json:"type"`
	Grants []string `json:"grants,omitempty"`
	Scopes []string `json:"scopes"`
	PKCE   *bool    `json:"pkce,omitempty"`
}

// Host is one base URL a connector declares (the raw proxy's x-connectr-host picks one by Name).
type Host struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Endpoint is one endpoint of a connector.
type Endpoint struct {
	Name         string      `json:"name"`
	Method       string      `json:"method"`
	Host         string      `json:"host"`
	Path         string      `json:"path"`
	Summary      string      `json:"summary"`
	Description  string      `json:"description,omitempty"`
	DocsURL      string      `json:"docs_url,omitempty"`
	Deprecated   bool        `json:"deprecated"`
	Scopes       []string    `json:"scopes"`
	Params       []Param     `json:"params"`
	Pagination   *Pagination `json:"pagination"`
	ResponseKind string      `json:"response_kind"`
}

// Pagination is how an endpoint pages (page_token, cursor, next_link, link_header, offset).
type Pagination struct {
	Style string `json:"style"`
}

// Param is one parameter of an endpoint.
type Param struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Items       string            `json:"items,omitempty"`
	Required    bool              `json:"required"`
	Location    string            `json:"location"`
	Description string            `json:"description,omitempty"`
	Enum        []json.RawMessage `json:"enum,omitempty"`
	Default     json.RawMessage   `json:"default,omitempty"`
	Minimum     *float64          `json:"minimum,omitempty"`
	Maximum     *float64          `json:"maximum,omitempty"`
	Secret      bool              `json:"secret"`
}

// Connection is one end user's account at one connector.
type Connection struct {
	ID            string `json:"id"`
	ConnectorType string `json:"connector_type"`
	// ConnectorVersion is the connector version its calls use (0 from servers older than versions).
	ConnectorVersion int      `json:"connector_version"`
	Name             string   `json:"name"`
	UserID           *string  `json:"user_id"`
	Status           string   `json:"status"` // pending, active, needs_reauth, revoked
	AccountIdentity  *string  `json:"account_identity"`
	Scopes           []string `json:"scopes"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
	LastRefreshAt    *string  `json:"last_refresh_at"`
	// LastUsedAt is the last call through the connection; LastCheckedAt its last health check.
	LastUsedAt    *string          `json:"last_used_at"`
	LastCheckedAt *string          `json:"last_checked_at"`
	LastError     *ConnectionError `json:"last_error"`
}

// ConnectionError is why a connection last failed (a refused refresh, a failed health check):
// a code and a message, never a secret.
type ConnectionError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// UnmarshalJSON also reads the plain message string servers before the health fields sent.
func (e *ConnectionError) UnmarshalJSON(data []byte) error {
	var message string
	if err := json.Unmarshal(data, &message); err == nil {
		*e = ConnectionError{Message: message}
		return nil
	}
	type plain ConnectionError
	return json.Unmarshal(data, (*plain)(e))
}

// CreateConnectionRequest is the body of POST /api/v1/connections.
type CreateConnectionRequest struct {
	ConnectorType string `json:"connector_type"`
	Name          string `json:"name"`
	UserID        string `json:"user_id,omitempty"`
	// ConnectorVersion pins the connection to that connector version; 0: the newest.
	ConnectorVersion int `json:"connector_version,omitempty"`
}

// ListConnectionsOptions filters and pages GET /api/v1/connections.
type ListConnectionsOptions struct {
	UserID        string
	ConnectorType string
	Limit         int    // 1 to 200; 0: the server's default (50)
	Cursor        string // NextCursor of the previous page
}

// ConnectionPage is one page of GET /api/v1/connections.
type ConnectionPage struct {
	Connections []Connection `json:"connections"`
	NextCursor  *string      `json:"next_cursor"`
}

// Credentials is the body of PUT /api/v1/connections/{id}/credentials: APIKey for api_key
// connectors, Username and Password for basic ones, a token set for OAuth ones. Printing it
// never shows a secret.
type Credentials struct {
	APIKey       string   `json:"api_key,omitempty"`
	Username     string   `json:"username,omitempty"`
	Password     string   `json:"password,omitempty"`
	AccessToken  string   `json:"access_token,omitempty"`
	RefreshToken string   `json:"refresh_token,omitempty"`
	TokenType    string   `json:"token_type,omitempty"`
	ExpiresAt    string   `json:"expires_at,omitempty"` // RFC 3339
	ExpiresIn    int      `json:"expires_in,omitempty"` // seconds; not with ExpiresAt
	Scopes       []string `json:"scopes,omitempty"`
	Account      string   `json:"account,omitempty"`
}

func (c Credentials) String() string {
	return fmt.Sprintf("connectr.Credentials{username: %q, token_type: %q, expires_at: %q, expires_in: %d, scopes: %q, account: %q, secrets: [REDACTED]}",
		c.Username, c.TokenType, c.ExpiresAt, c.ExpiresIn, c.Scopes, c.Account)
}
func (c Credentials) GoString() string { return c.String() }

// Deleted is the answer of DELETE /api/v1/connections/{id}.
type Deleted struct {
	Deleted     bool   `json:"deleted"`
	Revoked     bool   `json:"revoked"`
	RevokeError string `json:"revoke_error,omitempty"`
}

// Token is GET /api/v1/connections/{id}/token. Printing it never shows the token.
type Token struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresAt   *string `json:"expires_at"`
}

func (t Token) String() string {
	exp := "null"
	if t.ExpiresAt != nil {
		exp = *t.ExpiresAt
	}
	return fmt.Sprintf("connectr.Token{token_type: %s, expires_at: %s, access_token: [REDACTED]}", t.TokenType, exp)
}
func (t Token) GoString() string { return t.String() }

// AuthorizeRequest is the body of POST /api/v1/oauth/authorize: ConnectionID, or (the old
// form) ConnectorType, a sign-in that belongs to no connection until OAuthCallback completes
// it into one.
type AuthorizeRequest struct {
	ConnectionID  string `json:"connection_id,omitempty"`
	ConnectorType string `json:"connector_type,omitempty"`
	RedirectURI   string `json:"redirect_uri,omitempty"`
	ReturnURL     string `json:"return_url,omitempty"`
}

// Authorization is the answer of POST /api/v1/oauth/authorize.
type Authorization struct {
	AuthorizationURL string `json:"authorization_url"`
	State            string `json:"state"`
	ConnectionID     string `json:"connection_id"` // "" for a sign-in started with ConnectorType
	RedirectURI      string `json:"redirect_uri"`
	ExpiresAt        string `json:"expires_at"`
}

// CallbackRequest is the body of POST /api/v1/oauth/callback (the code-only flow).
type CallbackRequest struct {
	ConnectionID string `json:"connection_id"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	State        string `json:"state,omitempty"`
}

func (c CallbackRequest) String() string {
	return fmt.Sprintf("connectr.CallbackRequest{connection_id: %s, redirect_uri: %s, code: [REDACTED]}", c.ConnectionID, c.RedirectURI)
}
func (c CallbackRequest) GoString() string { return c.String() }

// SignedIn is the answer of POST /api/v1/oauth/callback.
type SignedIn struct {
	ConnectionID    string   `json:"connection_id"`
	ConnectorType   string   `json:"connector_type"`
	Status          string   `json:"status"`
	AccountIdentity *string  `json:"account_identity"`
	Scopes          []string `json:"scopes"`
}

// OAuthApp is a project's OAuth app for a connector (never its secret).
type OAuthApp struct {
	Connector       string `json:"connector"`
	ClientID        string `json:"client_id"`
	HasClientSecret bool   `json:"has_client_secret"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
}

// OAuthAppRequest is the body of PUT /api/v1/oauth-apps/{connector}. Printing it never
// shows the secret.
type OAuthAppRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

func (r OAuthAppRequest) String() string {
	return fmt.Sprintf("connectr.OAuthAppRequest{client_id: %s, client_secret: [REDACTED]}", r.ClientID)
}
func (r OAuthAppRequest) GoString() string { return r.String() }

// OAuthAppDeleted is the answer of DELETE /api/v1/oauth-apps/{connector}.
type OAuthAppDeleted struct {
	Connector string `json:"connector"`
	Deleted   bool   `json:"deleted"`
}
