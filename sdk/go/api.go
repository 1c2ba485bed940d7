package connectr

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Health is GET /health (no API key needed): the process answers.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	return result(&out, c.doCall(ctx, call{method: http.MethodGet, path: "/health", noAuth: true}, &out))
}

// Ready is GET /ready (no API key needed): the database answers. A server that is not ready
// is an *APIError matching ErrUnavailable.
func (c *Client) Ready(ctx context.Context) (*Ready, error) {
	var out Ready
	return result(&out, c.doCall(ctx, call{method: http.MethodGet, path: "/ready", noAuth: true}, &out))
}

// ListConnectors is GET /api/v1/connectors.
func (c *Client) ListConnectors(ctx context.Context) ([]ConnectorSummary, error) {
	var out struct {
		Connectors []ConnectorSummary `json:"connectors"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/connectors", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Connectors, nil
}

// GetConnector is GET /api/v1/connectors/{name}.
func (c *Client) GetConnector(ctx context.Context, name string) (*Connector, error) {
	if err := required("GetConnector", "name", name); err != nil {
		return nil, err
	}
	var out Connector
	return result(&out, c.do(ctx, http.MethodGet, "/api/v1/connectors/"+segment(name), nil, nil, &out))
}

// ListEndpoints is GET /api/v1/connectors/{name}/endpoints.
func (c *Client) ListEndpoints(ctx context.Context, connector string) ([]Endpoint, error) {
	if err := required("ListEndpoints", "connector", connector); err != nil {
		return nil, err
	}
	var out struct {
		Endpoints []Endpoint `json:"endpoints"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/connectors/"+segment(connector)+"/endpoints", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Endpoints, nil
}

// CreateConnection is POST /api/v1/connections: a pending connection. A POST: not retried.
func (c *Client) CreateConnection(ctx context.Context, req CreateConnectionRequest) (*Connection, error) {
	var out Connection
	return result(&out, c.do(ctx, http.MethodPost, "/api/v1/connections", nil, req, &out))
}

// GetConnection is GET /api/v1/connections/{id}.
func (c *Client) GetConnection(ctx context.Context, id string) (*Connection, error) {
	if err := required("GetConnection", "id", id); err != nil {
		return nil, err
	}
	var out Connection
	return result(&out, c.do(ctx, http.MethodGet, "/api/v1/connections/"+segment(id), nil, nil, &out))
}

// ListConnections is one page of GET /api/v1/connections; pass NextCursor as Cursor for the next.
func (c *Client) ListConnections(ctx context.Context, opts ListConnectionsOptions) (*ConnectionPage, error) {
	q := url.Values{}
	if opts.UserID != "" {
		q.Set("user_id", opts.UserID)
	}
	if opts.ConnectorType != "" {
		q.Set("connector_type", opts.ConnectorType)
	}
	if opts.Limit != 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Cursor != "" {
		q.Set("cursor", opts.Cursor)
	}
	var out ConnectionPage
	return result(&out, c.do(ctx, http.MethodGet, "/api/v1/connections", q, nil, &out))
}

// DeleteConnection is DELETE /api/v1/connections/{id}: revokes the grant at the provider
// where it can, and deletes the connection whatever the revocation's outcome.
func (c *Client) DeleteConnection(ctx context.Context, id string) (*Deleted, error) {
	if err := required("DeleteConnection", "id", id); err != nil {
		return nil, err
	}
	var out Deleted
	return result(&out, c.do(ctx, http.MethodDelete, "/api/v1/connections/"+segment(id), nil, nil, &out))
}

// PutCredentials is PUT /api/v1/connections/{id}/credentials: the connection becomes active.
func (c *Client) PutCredentials(ctx context.Context, id string, creds Credentials) (*Connection, error) {
	if err := required("PutCredentials", "id", id); err != nil {
		return nil, err
	}
	var out Connection
	return result(&out, c.do(ctx, http.MethodPut, "/api/v1/connections/"+segment(id)+"/credentials", nil, creds, &out))
}

// GetToken is GET /api/v1/connections/{id}/token: an OAuth connection's access token
// (refreshed first when about to expire). Needs a key created with --allow-token, else
// ErrForbidden.
func (c *Client) GetToken(ctx context.Context, id string) (*Token, error) {
	if err := required("GetToken", "id", id); err != nil {
		return nil, err
	}
	var out Token
	return result(&out, c.do(ctx, http.MethodGet, "/api/v1/connections/"+segment(id)+"/token", nil, nil, &out))
}

// Authorize is POST /api/v1/oauth/authorize: send the user's browser to AuthorizationURL.
func (c *Client) Authorize(ctx context.Context, req AuthorizeRequest) (*Authorization, error) {
	var out Authorization
	return result(&out, c.do(ctx, http.MethodPost, "/api/v1/oauth/authorize", nil, req, &out))
}

// CompleteOAuth is POST /api/v1/oauth/callback: hands over the code your own redirect_uri
// received. A code is good once: never retried.
func (c *Client) CompleteOAuth(ctx context.Context, req CallbackRequest) (*SignedIn, error) {
	var out SignedIn
	return result(&out, c.do(ctx, http.MethodPost, "/api/v1/oauth/callback", nil, req, &out))
}

// PutOAuthApp is PUT /api/v1/oauth-apps/{connector}: saves (replaces) the project's OAuth app.
func (c *Client) PutOAuthApp(ctx context.Context, connector string, req OAuthAppRequest) (*OAuthApp, error) {
	if err := required("PutOAuthApp", "connector", connector); err != nil {
		return nil, err
	}
	var out OAuthApp
	return result(&out, c.do(ctx, http.MethodPut, "/api/v1/oauth-apps/"+segment(connector), nil, req, &out))
}

// ListOAuthApps is GET /api/v1/oauth-apps.
func (c *Client) ListOAuthApps(ctx context.Context) ([]OAuthApp, error) {
	var out struct {
		OAuthApps []OAuthApp `json:"oauth_apps"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/oauth-apps", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.OAuthApps, nil
}

// DeleteOAuthApp is DELETE /api/v1/oauth-apps/{connector} (ErrNotFound when there is none).
func (c *Client) DeleteOAuthApp(ctx context.Context, connector string) (*OAuthAppDeleted, error) {
	if err := required("DeleteOAuthApp", "connector", connector); err != nil {
		return nil, err
	}
	var out OAuthAppDeleted
	return result(&out, c.do(ctx, http.MethodDelete, "/api/v1/oauth-apps/"+segment(connector), nil, nil, &out))
}

// result is out, or nil with the error.
func result[T any](out *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return out, nil
}

// required refuses an empty id or name: it would name another route (the list); and "." or
// "..", which a server or proxy resolving dot segments would take for another route too.
func required(call, what, value string) error {
	if value == "" {
		return fmt.Errorf("connectr: %s: the %s is empty", call, what)
	}
	if value == "." || value == ".." {
		return fmt.Errorf("connectr: %s: the %s must not be %q", call, what, value)
	}
	return nil
}
