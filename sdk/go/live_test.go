package connectr_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLiveHealthReady(t *testing.T) {
	c := liveClient(t, "none-needed")
	ctx := ctxT(t)
	h, err := c.Health(ctx)
	if err != nil || h.Status != "ok" || h.Version == "" {
		t.Fatalf("health: %+v %v", h, err)
	}
	r, err := c.Ready(ctx)
	if err != nil || r.Status != "ready" {
		t.Fatalf("ready: %+v %v", r, err)
	}
}

func TestLiveAuthErrors(t *testing.T) {
	h := live(t)
	ctx := ctxT(t)
	noKey, err := connectr.NewClient(connectr.WithBaseURL(h.URL), connectr.WithAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	_, err = noKey.ListConnectors(ctx)
	e := wantCode(t, err, connectr.ErrAuthRequired, 401)
	if e.RequestID == "" {
		t.Fatalf("no request id in %v", e)
	}
	_, err = liveClient(t, "cnr_bogus_key").ListConnectors(ctx)
	wantCode(t, err, connectr.ErrAuthRequired, 401)
	// Another project's key: the connection does not exist for it, on every route.
	other := liveClient(t, h.OtherKey)
	_, err = other.GetConnection(ctx, h.Connections["gmail"])
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = other.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "get_profile"})
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = other.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["gmail"], Path: "gmail/v1/users/me/profile"})
	wantCode(t, err, connectr.ErrNotFound, 404)
	for _, err := range other.ExecuteAll(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "list_messages"}) {
		wantCode(t, err, connectr.ErrNotFound, 404)
	}
}

func TestLiveConnectors(t *testing.T) {
	c := liveClient(t, "")
	ctx := ctxT(t)
	list, err := c.ListConnectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]connectr.ConnectorSummary{}
	for _, s := range list {
		names[s.Name] = s
	}
	for _, n := range []string{"gmail", "dropbox", "onedrive"} {
		if names[n].AuthType != "oauth2" || names[n].EndpointCount == 0 {
			t.Fatalf("connector %s: %+v", n, names[n])
		}
	}
	dbx, err := c.GetConnector(ctx, "dropbox")
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, h := range dbx.Hosts {
		hosts[h.Name] = true
	}
	if !hosts["api"] || !hosts["content"] || dbx.Auth.Type != "oauth2" || len(dbx.Endpoints) != dbx.EndpointCount {
		t.Fatalf("dropbox: %+v", dbx)
	}
	eps, err := c.ListEndpoints(ctx, "gmail")
	if err != nil {
		t.Fatal(err)
	}
	var lm *connectr.Endpoint
	for i := range eps {
		if eps[i].Name == "list_messages" {
			lm = &eps[i]
		}
	}
	if lm == nil || lm.Pagination == nil || lm.Pagination.Style == "" || lm.Method != "GET" {
		t.Fatalf("gmail list_messages: %+v", lm)
	}
	_, err = c.GetConnector(ctx, "gmial")
	e := wantCode(t, err, connectr.ErrNotFound, 404)
	if !strings.Contains(e.Hint, "gmail") {
		t.Fatalf("hint does not name the nearest connector: %v", e)
	}
	_, err = c.ListEndpoints(ctx, "Not A Name")
	wantCode(t, err, connectr.ErrInvalidInput, 400)
}

func TestLiveConnectionLifecycle(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	user := fmt.Sprintf("go-user-%d", time.Now().UnixNano())
	var ids []string
	for i := 0; i < 3; i++ {
		conn, err := c.CreateConnection(ctx, connectr.CreateConnectionRequest{ConnectorType: "dropbox", Name: fmt.Sprintf("go %d", i), UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		if conn.Status != "pending" || conn.UserID == nil || *conn.UserID != user || !strings.HasPrefix(conn.ID, "conn_") {
			t.Fatalf("created: %+v", conn)
		}
		ids = append(ids, conn.ID)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_, _ = c.DeleteConnection(context.Background(), id)
		}
	})
	got, err := c.GetConnection(ctx, ids[0])
	if err != nil || got.ConnectorType != "dropbox" || got.Name != "go 0" {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Pages of one, by cursor, filtered by user: exactly the three, oldest first.
	var seen []string
	opts := connectr.ListConnectionsOptions{UserID: user, Limit: 1}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the cursor does not end")
		}
		page, err := c.ListConnections(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, conn := range page.Connections {
			seen = append(seen, conn.ID)
		}
		if page.NextCursor == nil {
			break
		}
		opts.Cursor = *page.NextCursor
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("listed %v, want %v", seen, ids)
	}
	page, err := c.ListConnections(ctx, connectr.ListConnectionsOptions{UserID: "sdk-user", ConnectorType: "onedrive"})
	if err != nil || len(page.Connections) != 1 || page.Connections[0].ID != h.Connections["onedrive"] {
		t.Fatalf("filter by connector_type: %+v %v", page, err)
	}
	_, err = c.ListConnections(ctx, connectr.ListConnectionsOptions{Cursor: "not-a-cursor"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("query.cursor") {
		t.Fatalf("bad cursor: %v", e)
	}
	_, err = c.ListConnections(ctx, connectr.ListConnectionsOptions{Limit: 1000})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("query.limit") {
		t.Fatalf("bad limit: %v", e)
	}
	_, err = c.CreateConnection(ctx, connectr.CreateConnectionRequest{ConnectorType: "dropbx", Name: "x"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("body.connector_type") || !strings.Contains(e.Hint, "dropbox") {
		t.Fatalf("unknown connector_type: %v", e)
	}
	_, err = c.CreateConnection(ctx, connectr.CreateConnectionRequest{ConnectorType: "dropbox", Name: "bad\nname"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("body.name") {
		t.Fatalf("control character in name: %v", e)
	}

	// Pending: no credential, so execute is a 409 needs_reauth.
	_, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: ids[0], Endpoint: "get_current_account"})
	wantCode(t, err, connectr.ErrNeedsReauth, 409)
	// A password for an OAuth connector is refused, naming the way to sign in.
	_, err = c.PutCredentials(ctx, ids[0], connectr.Credentials{APIKey: "k"})
	wantCode(t, err, connectr.ErrInvalidInput, 400)
	_, err = c.PutCredentials(ctx, ids[0], connectr.Credentials{AccessToken: h.Tokens["dropbox"], ExpiresIn: 3600, Scopes: []string{"files.content.read"}, Account: "go@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	active, err := c.GetConnection(ctx, ids[0])
	if err != nil || active.Status != "active" || active.AccountIdentity == nil || *active.AccountIdentity != "go@example.com" {
		t.Fatalf("after credentials: %+v %v", active, err)
	}
	res, err := c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: ids[0], Endpoint: "get_current_account"})
	if err != nil || res.Status != 200 {
		t.Fatalf("execute with pushed token: %+v %v", res, err)
	}
	del, err := c.DeleteConnection(ctx, ids[0])
	if err != nil || !del.Deleted {
		t.Fatalf("delete: %+v %v", del, err)
	}
	_, err = c.GetConnection(ctx, ids[0])
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = c.DeleteConnection(ctx, ids[0])
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = c.GetConnection(ctx, "../../health")
	if !errors.Is(err, connectr.ErrInvalidInput) && !errors.Is(err, connectr.ErrNotFound) {
		t.Fatalf("an id with slashes must stay one segment: %v", err)
	}
}

func TestLiveToken(t *testing.T) {
	h := live(t)
	ctx := ctxT(t)
	tok, err := liveClient(t, h.TokenKey).GetToken(ctx, h.Connections["gmail"])
	if err != nil || tok.AccessToken != h.Tokens["gmail"] || tok.ExpiresAt == nil {
		t.Fatalf("token: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, *tok); strings.Contains(s, h.Tokens["gmail"]) {
		t.Fatalf("a printed Token shows the access token: %s", s)
	}
	_, err = liveClient(t, "").GetToken(ctx, h.Connections["gmail"])
	e := wantCode(t, err, connectr.ErrForbidden, 403)
	if !strings.Contains(e.Hint, "--allow-token") {
		t.Fatalf("403 without the fix: %v", e)
	}
	_, err = liveClient(t, h.OtherKey).GetToken(ctx, h.Connections["gmail"])
	wantCode(t, err, connectr.ErrForbidden, 403)
}

func TestLiveOAuth(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	// Without an OAuth app the sign-in cannot start.
	_, err := c.Authorize(ctx, connectr.AuthorizeRequest{ConnectionID: h.Connections["onedrive"]})
	wantCode(t, err, connectr.ErrInvalidInput, 400)

	_, err = c.PutOAuthApp(ctx, "gmail", connectr.OAuthAppRequest{ClientID: "go-client.apps.example"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("body.client_secret") {
		t.Fatalf("gmail needs a secret: %v", e)
	}
	_, err = c.PutOAuthApp(ctx, "gmial", connectr.OAuthAppRequest{ClientID: "x", ClientSecret: "y"})
	wantCode(t, err, connectr.ErrNotFound, 404)
	app, err := c.PutOAuthApp(ctx, "gmail", connectr.OAuthAppRequest{ClientID: "go-client.apps.example", ClientSecret: "go-secret-value"})
	if err != nil || !app.HasClientSecret || app.ClientID != "go-client.apps.example" {
		t.Fatalf("put app: %+v %v", app, err)
	}
	t.Cleanup(func() { _, _ = c.DeleteOAuthApp(context.Background(), "gmail") })
	apps, err := c.ListOAuthApps(ctx)
	if err != nil || len(apps) != 1 || apps[0].Connector != "gmail" {
		t.Fatalf("list apps: %+v %v", apps, err)
	}

	conn, err := c.CreateConnection(ctx, connectr.CreateConnectionRequest{ConnectorType: "gmail", Name: "go oauth"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteConnection(context.Background(), conn.ID) })
	auth, err := c.Authorize(ctx, connectr.AuthorizeRequest{ConnectionID: conn.ID, RedirectURI: "https://app.example.com/oauth"})
	if err != nil || auth.ConnectionID != conn.ID || auth.State == "" || !strings.Contains(auth.AuthorizationURL, "client_id=go-client.apps.example") || auth.RedirectURI != "https://app.example.com/oauth" {
		t.Fatalf("authorize: %+v %v", auth, err)
	}
	// The old form's sign-in belongs to no connection until it is completed into one.
	old, err := c.Authorize(ctx, connectr.AuthorizeRequest{ConnectorType: "gmail"})
	if err != nil || old.ConnectionID != "" || old.State == "" {
		t.Fatalf("authorize (connector_type): %+v %v", old, err)
	}
	_, err = c.Authorize(ctx, connectr.AuthorizeRequest{ConnectionID: conn.ID, ConnectorType: "gmail"})
	wantCode(t, err, connectr.ErrInvalidInput, 400)

	// The code-only flow: a redirect_uri other than the sign-in's is refused before any exchange.
	_, err = c.CompleteOAuth(ctx, connectr.CallbackRequest{ConnectionID: conn.ID, Code: "code-xyz", RedirectURI: "https://other.example.com/cb", State: auth.State})
	wantCode(t, err, connectr.ErrInvalidInput, 400)
	_, err = c.CompleteOAuth(ctx, connectr.CallbackRequest{ConnectionID: conn.ID, Code: "code-xyz", RedirectURI: "https://nowhere.example.com/cb"})
	wantCode(t, err, connectr.ErrInvalidInput, 400)
	_, err = c.CompleteOAuth(ctx, connectr.CallbackRequest{ConnectionID: "conn_doesnotexist", Code: "c", RedirectURI: "https://app.example.com/oauth"})
	wantCode(t, err, connectr.ErrNotFound, 404)

	gone, err := c.DeleteOAuthApp(ctx, "gmail")
	if err != nil || !gone.Deleted || gone.Connector != "gmail" {
		t.Fatalf("delete app: %+v %v", gone, err)
	}
	_, err = c.DeleteOAuthApp(ctx, "gmail")
	wantCode(t, err, connectr.ErrNotFound, 404)
}

func TestLiveExecute(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	// JSON
	res, err := c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "list_messages", Params: map[string]any{"q": "is:unread"}})
	if err != nil || res.Status != 200 || res.Encoding != "json" {
		t.Fatalf("list_messages: %+v %v", res, err)
	}
	var page struct {
		Messages []struct{ ID string } `json:"messages"`
	}
	if err := res.JSON(&page); err != nil || len(page.Messages) != 4 {
		t.Fatalf("unread: %+v %v", page, err)
	}
	// Text: Dropbox answers a body it cannot parse with text/plain.
	res, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["dropbox"], Endpoint: "list_folder", Body: "not json"})
	if err != nil || res.Status != 400 || res.Encoding != "text" || !strings.Contains(res.Text(), "could not decode input as JSON") {
		t.Fatalf("text: %+v %v", res, err)
	}
	if res.JSON(new(any)) == nil {
		t.Fatal("JSON() of a text answer must fail")
	}
	// Binary, as bytes; Dropbox's result header parsed.
	res, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["onedrive"], Endpoint: "download_by_path", Params: map[string]any{"path": "hello.txt"}})
	if err != nil || res.Encoding != "base64" || string(res.Body) != "hello from onedrive\n" {
		t.Fatalf("onedrive download: %+v %v", res, err)
	}
	res, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["dropbox"], Endpoint: "download", Params: map[string]any{"path": "/docs/hello.txt"}})
	if err != nil || string(res.Body) != "hello from dropbox\n" || !strings.Contains(string(res.Result), `"name":"hello.txt"`) {
		t.Fatalf("dropbox download: %+v %v", res, err)
	}
	// The API's own 404 is a result, not an error.
	res, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "get_message", Params: map[string]any{"id": "nope"}})
	if err != nil || res.Status != 404 {
		t.Fatalf("upstream 404: %+v %v", res, err)
	}
	// Bad params: 400 naming the param, nothing sent.
	_, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "list_messages", Params: map[string]any{"maxResults": "many"}})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !strings.Contains(e.Message, "params.maxResults") {
		t.Fatalf("bad param: %v", e)
	}
	_, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "list_mesages"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("body.endpoint") || !strings.Contains(e.Hint, "list_messages") {
		t.Fatalf("unknown endpoint: %v", e)
	}
	_, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: "bad id!", Endpoint: "x"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("body.connection_id") {
		t.Fatalf("bad connection id: %v", e)
	}
	// A Go-side mistake is refused before anything is sent.
	if _, err := c.Execute(ctx, connectr.ExecuteRequest{Body: "a", BodyBytes: []byte("b")}); err == nil {
		t.Fatal("two bodies accepted")
	}
}

// patterned is size bytes of a repeating pattern, read in odd-sized pieces, of unknown length
// to the client (no Len method): it is sent chunked.
type patterned struct{ left, pos int }

func (p *patterned) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(len(b), p.left, 7919)
	for i := range n {
		b[i] = byte((p.pos + i) % 251)
	}
	p.left -= n
	p.pos += n
	return n, nil
}

func patternSum(size int) [32]byte {
	h := sha256.New()
	_, _ = io.Copy(h, &patterned{left: size})
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestLiveExecuteUploadStreamed(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	const size = 300_000
	name := fmt.Sprintf("/go-exec-%d.bin", time.Now().UnixNano())
	res, err := c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["dropbox"], Endpoint: "upload",
		Params: map[string]any{"path": name, "mode": "overwrite"}, BodyReader: &patterned{left: size}})
	if err != nil || res.Status != 200 {
		t.Fatalf("upload: %+v %v", res, err)
	}
	res, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["dropbox"], Endpoint: "download", Params: map[string]any{"path": name}})
	if err != nil || len(res.Body) != size || sha256.Sum256(res.Body) != patternSum(size) {
		t.Fatalf("download: %d bytes, %v", len(res.Body), err)
	}
	res, err = c.Execute(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["dropbox"], Endpoint: "upload", Retry: true,
		Params: map[string]any{"path": name + ".2", "mode": "overwrite"}, BodyBytes: []byte("small\x00bytes")})
	if err != nil || res.Status != 200 {
		t.Fatalf("upload bytes: %+v %v", res, err)
	}
}

func TestLiveExecuteAll(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	req := connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "list_messages", Params: map[string]any{"maxResults": 2}}
	var ids []string
	for item, err := range c.ExecuteAll(ctx, req) {
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ ID string }
		if err := json.Unmarshal(item, &m); err != nil || m.ID == "" {
			t.Fatalf("item %s: %v", item, err)
		}
		ids = append(ids, m.ID)
	}
	if len(ids) != 7 {
		t.Fatalf("want the 7 messages over 4 pages, got %v", ids)
	}
	// Limit, and breaking out early (the stream is closed, no error).
	req.Limit = 3
	n := 0
	for _, err := range c.ExecuteAll(ctx, req) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("limit 3 gave %d", n)
	}
	req.Limit = 0
	n = 0
	for _, err := range c.ExecuteAll(ctx, req) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	// An error before the first item: the ordinary envelope, once.
	errs := 0
	for _, err := range c.ExecuteAll(ctx, connectr.ExecuteRequest{ConnectionID: h.Connections["gmail"], Endpoint: "list_messages", Params: map[string]any{"maxResults": "x"}}) {
		wantCode(t, err, connectr.ErrInvalidInput, 400)
		errs++
	}
	if errs != 1 {
		t.Fatalf("%d errors", errs)
	}
}

func TestLiveProxy(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	resp, err := c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["gmail"], Path: "gmail/v1/users/me/profile"})
	if err != nil {
		t.Fatal(err)
	}
	var profile struct {
		EmailAddress string `json:"emailAddress"`
	}
	err = json.NewDecoder(resp.Body).Decode(&profile)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(profile.EmailAddress, "@") {
		t.Fatalf("profile: %d %+v %v", resp.StatusCode, profile, err)
	}
	// The API's own error comes back as its answer, not as connectr's.
	resp, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["gmail"], Path: "gmail/v1/users/me/messages/nope"})
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("upstream 404: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Requested entity was not found") {
		t.Fatalf("upstream body: %s", body)
	}
	// Query strings pass as given.
	resp, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["gmail"], Path: "gmail/v1/users/me/messages", Query: map[string][]string{"q": {"is:unread"}}})
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Messages []any }
	_ = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if len(page.Messages) != 4 {
		t.Fatalf("q=is:unread via proxy: %d messages", len(page.Messages))
	}
	// Hostile paths and hosts are refused by the server, naming what is wrong.
	_, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["gmail"], Path: "gmail/../../etc/passwd"})
	if e := wantCode(t, err, connectr.ErrInvalidInput, 400); !e.Field("params.path") {
		t.Fatalf("dot-dot: %v", e)
	}
	_, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["dropbox"], Host: "nope", Method: "POST", Path: "2/files/list_folder"})
	wantCode(t, err, connectr.ErrInvalidInput, 400)
	if _, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["gmail"], Path: "x", Header: http.Header{"X-Evil": {"a\r\nb"}}}); err == nil {
		t.Fatal("a header with CR LF was sent")
	}
}

func TestLiveProxyStreamedUploadDownload(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	ctx := ctxT(t)
	const size = 3 << 20
	name := fmt.Sprintf("/go-proxy-%d.bin", time.Now().UnixNano())
	arg, _ := json.Marshal(map[string]any{"path": name, "mode": "overwrite"})
	// Upload: an io.Reader of unknown size, sent chunked as it is read.
	resp, err := c.Proxy(ctx, connectr.ProxyRequest{
		ConnectionID: h.Connections["dropbox"], Method: "POST", Host: "content", Path: "2/files/upload",
		Header: http.Header{"Content-Type": {"application/octet-stream"}, "Dropbox-API-Arg": {string(arg)}},
		Body:   &patterned{left: size},
	})
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(meta), fmt.Sprintf(`"size":%d`, size)) {
		t.Fatalf("upload: %d %s", resp.StatusCode, meta)
	}
	// Download: read from the stream, hashed as it comes.
	arg, _ = json.Marshal(map[string]any{"path": name})
	resp, err = c.Proxy(ctx, connectr.ProxyRequest{
		ConnectionID: h.Connections["dropbox"], Method: "POST", Host: "content", Path: "2/files/download",
		Header: http.Header{"Dropbox-API-Arg": {string(arg)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, resp.Body)
	if err != nil || n != size || !bytes.Equal(sum.Sum(nil), func() []byte { s := patternSum(size); return s[:] }()) {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	// OneDrive: PUT of a known length (bytes.Reader), then GET of its content.
	payload := bytes.Repeat([]byte("onedrive-go "), 1000)
	resp, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["onedrive"], Method: "PUT",
		Path: "me/drive/items/01ROOTID:/go upload.txt:/content", Body: bytes.NewReader(payload), Retry: true,
		Header: http.Header{"Content-Type": {"text/plain"}}})
	if err != nil {
		t.Fatal(err)
	}
	putAnswer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Fatalf("onedrive put: %d %s", resp.StatusCode, putAnswer)
	}
	resp, err = c.Proxy(ctx, connectr.ProxyRequest{ConnectionID: h.Connections["onedrive"], Path: "me/drive/root:/go upload.txt:/content"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Graph answers /content with a 302 to a pre-authenticated URL: redirects come back as
	// they are (not followed, so the API key never travels elsewhere).
	location := resp.Header.Get("Location")
	if resp.StatusCode != 302 || location == "" {
		t.Fatalf("onedrive get: %d, Location %q", resp.StatusCode, location)
	}
	direct, err := http.Get(location)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(direct.Body)
	direct.Body.Close()
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("onedrive download URL: %d %d bytes %v", direct.StatusCode, len(got), err)
	}
}

func TestLiveSecretsNotShown(t *testing.T) {
	h := live(t)
	c := liveClient(t, "")
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c), c.String()} {
		if strings.Contains(s, h.APIKey) || strings.Contains(s, "cnr_") {
			t.Fatalf("the client prints its key: %s", s)
		}
	}
	creds := connectr.Credentials{AccessToken: "at-secret", RefreshToken: "rt-secret", Password: "pw-secret", APIKey: "ak-secret"}
	app := connectr.OAuthAppRequest{ClientID: "id", ClientSecret: "cs-secret"}
	cb := connectr.CallbackRequest{Code: "code-secret"}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", creds, creds, creds), fmt.Sprintf("%v %+v %#v", app, app, app), fmt.Sprintf("%v %+v %#v", cb, cb, cb)} {
		if strings.Contains(s, "-secret") {
			t.Fatalf("a secret is printed: %s", s)
		}
	}
	// An error never holds the key, whatever the route.
	bad := liveClient(t, h.APIKey+"x")
	_, err := bad.GetConnection(ctxT(t), h.Connections["gmail"])
	if err == nil || strings.Contains(err.Error(), h.APIKey) {
		t.Fatalf("error: %v", err)
	}
}
