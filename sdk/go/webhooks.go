package connectr

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The events of connectr's outgoing webhooks (docs/webhooks.md).
const (
	EventConnectionCreated     = "connection.created"
	EventConnectionSignedIn    = "connection.signed_in"
	EventConnectionNeedsReauth = "connection.needs_reauth"
	EventConnectionRestored    = "connection.restored"
	EventConnectionDeleted     = "connection.deleted"
	// EventProviderEvent is a provider's push, verified and forwarded: data is
	// {connector, connection_id (null when unattributed), event_type, payload}.
	EventProviderEvent = "provider.event"
	EventWebhookTest   = "webhook.test"
)

// Webhook is an endpoint of the project's outgoing webhooks (no secret: it is shown once, by
// CreateWebhook and RotateWebhookSecret).
type Webhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are the connection events it receives (every type when it was given none);
	// webhook.test always reaches it.
	Events      []string `json:"events"`
	Description *string  `json:"description"`
	// Disabled is set once the receiver answered 410 Gone, or an update disabled it.
	Disabled       bool    `json:"disabled"`
	DisabledReason *string `json:"disabled_reason"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

// WebhookWithSecret is the answer of CreateWebhook and RotateWebhookSecret: the endpoint and
// its signing secret (whsec_…), shown this once.
type WebhookWithSecret struct {
	Webhook
	Secret string `json:"secret"`
}

// CreateWebhookRequest is the body of POST /api/v1/webhooks.
type CreateWebhookRequest struct {
	// URL is https://…, or http:// to a loopback address (development).
	URL string `json:"url"`
	// Events to deliver (EventConnection… constants); empty: all.
	Events      []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
}

// UpdateWebhookRequest is the body of PATCH /api/v1/webhooks/{id}: nil fields are left as they are.
type UpdateWebhookRequest struct {
	URL         *string  `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	// Disabled false enables an endpoint again after a 410 Gone (its waiting deliveries go out).
	Disabled *bool `json:"disabled,omitempty"`
}

// WebhookDeleted is DELETE /api/v1/webhooks/{id}'s answer.
type WebhookDeleted struct {
	Deleted bool `json:"deleted"`
}

// QueuedEvent is TestWebhook's answer: the webhook.test event queued for the endpoint.
type QueuedEvent struct {
	EventID string `json:"event_id"` // msg_…: its webhook-id header
}

// WebhookDelivery is one event's delivery to the endpoint, with its last attempt.
type WebhookDelivery struct {
	EventID string `json:"event_id"` // msg_…: the webhook-id header of every attempt
	Type    string `json:"type"`
	// State is pending (a next attempt is due), delivered, or failed (retries ran out).
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// NextAttemptAt is when it is tried next; nil unless pending.
	NextAttemptAt *string `json:"next_attempt_at"`
	LastAttemptAt *string `json:"last_attempt_at"`
	// LastStatus is the receiver's HTTP status at the last attempt; nil when none came.
	LastStatus    *int    `json:"last_status"`
	LastLatencyMS *int64  `json:"last_latency_ms"`
	LastError     *string `json:"last_error"`
	CreatedAt     string  `json:"created_at"`
}

// ListWebhookDeliveriesOptions bounds GET /api/v1/webhooks/{id}/deliveries.
type ListWebhookDeliveriesOptions struct {
	Limit int // 1 to 200, newest first; 0: the server's default (50)
}

func webhookPath(id string) string { return "/api/v1/webhooks/" + segment(id) }

// CreateWebhook is POST /api/v1/webhooks. A POST: not retried (a retry could create two).
func (c *Client) CreateWebhook(ctx context.Context, req CreateWebhookRequest) (*WebhookWithSecret, error) {
	var out WebhookWithSecret
	return result(&out, c.do(ctx, http.MethodPost, "/api/v1/webhooks", nil, req, &out))
}

// ListWebhooks is GET /api/v1/webhooks.
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/webhooks", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Webhooks, nil
}

// GetWebhook is GET /api/v1/webhooks/{id}.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	if err := required("GetWebhook", "id", id); err != nil {
		return nil, err
	}
	var out Webhook
	return result(&out, c.do(ctx, http.MethodGet, webhookPath(id), nil, nil, &out))
}

// UpdateWebhook is PATCH /api/v1/webhooks/{id}.
func (c *Client) UpdateWebhook(ctx context.Context, id string, req UpdateWebhookRequest) (*Webhook, error) {
	if err := required("UpdateWebhook", "id", id); err != nil {
		return nil, err
	}
	var out Webhook
	return result(&out, c.do(ctx, http.MethodPatch, webhookPath(id), nil, req, &out))
}

// DeleteWebhook is DELETE /api/v1/webhooks/{id}: the endpoint and its deliveries, pending ones included.
func (c *Client) DeleteWebhook(ctx context.Context, id string) (*WebhookDeleted, error) {
	if err := required("DeleteWebhook", "id", id); err != nil {
		return nil, err
	}
	var out WebhookDeleted
	return result(&out, c.do(ctx, http.MethodDelete, webhookPath(id), nil, nil, &out))
}

// RotateWebhookSecret is POST /api/v1/webhooks/{id}/rotate-secret: the endpoint with a new
// secret, shown this once. For 24 h the old one keeps signing beside it (two signatures per
// delivery). A POST: not retried.
func (c *Client) RotateWebhookSecret(ctx context.Context, id string) (*WebhookWithSecret, error) {
	if err := required("RotateWebhookSecret", "id", id); err != nil {
		return nil, err
	}
	var out WebhookWithSecret
	return result(&out, c.do(ctx, http.MethodPost, webhookPath(id)+"/rotate-secret", nil, nil, &out))
}

// TestWebhook is POST /api/v1/webhooks/{id}/test: queues a webhook.test event for the endpoint.
func (c *Client) TestWebhook(ctx context.Context, id string) (*QueuedEvent, error) {
	if err := required("TestWebhook", "id", id); err != nil {
		return nil, err
	}
	var out QueuedEvent
	return result(&out, c.do(ctx, http.MethodPost, webhookPath(id)+"/test", nil, nil, &out))
}

// ListWebhookDeliveries is GET /api/v1/webhooks/{id}/deliveries: its deliveries, newest
// first, each with its last attempt.
func (c *Client) ListWebhookDeliveries(ctx context.Context, id string, opts ListWebhookDeliveriesOptions) ([]WebhookDelivery, error) {
	if err := required("ListWebhookDeliveries", "id", id); err != nil {
		return nil, err
	}
	q := url.Values{}
	if opts.Limit != 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var out struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
	}
	if err := c.do(ctx, http.MethodGet, webhookPath(id)+"/deliveries", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Deliveries, nil
}

// RedeliverWebhook is POST /api/v1/webhooks/{id}/deliveries/{eventID}/redeliver: that event is
// due again, with the same webhook-id (a receiver that keeps ids sees a duplicate).
func (c *Client) RedeliverWebhook(ctx context.Context, id, eventID string) (*WebhookDelivery, error) {
	if err := required("RedeliverWebhook", "id", id); err != nil {
		return nil, err
	}
	if err := required("RedeliverWebhook", "event id", eventID); err != nil {
		return nil, err
	}
	var out WebhookDelivery
	return result(&out, c.do(ctx, http.MethodPost, webhookPath(id)+"/deliveries/"+segment(eventID)+"/redeliver", nil, nil, &out))
}

// ---- verifying a delivery ------------------------------------------------------------------

// WebhookTolerance is how far a delivery's webhook-timestamp may be from this machine's clock
// (the Standard Webhooks libraries' value): an older delivery may be a replay.
const WebhookTolerance = 5 * time.Minute

var (
	// ErrWebhookVerification matches every delivery VerifyWebhook refuses: a missing header, no
	// signature made with any of the secrets (a tampered body, a wrong secret), a timestamp
	// outside WebhookTolerance, or a body that is not an event. Answer it with a 4xx.
	ErrWebhookVerification = errors.New("connectr: webhook verification failed")
	// ErrWebhookSecret is a secret that is not "whsec_" followed by base64: the caller's mistake.
	ErrWebhookSecret = errors.New("connectr: a webhook secret is whsec_ followed by base64")
)

// WebhookEvent is a verified delivery's body. Data holds the connection (as GetConnection
// shows it) for connection.* events: read it with ConnectionData.
type WebhookEvent struct {
	// ID is the webhook-id header: the same on every retry of the event, so a receiver can drop
	// a delivery it has already handled.
	ID        string          `json:"-"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// WebhookReason says why a connection needs a new sign-in (connection.needs_reauth only):
// Code is refresh_rejected or health_check_failed.
type WebhookReason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ConnectionEventData is the Data of a connection.* event.
type ConnectionEventData struct {
	Connection
	Reason *WebhookReason `json:"reason,omitempty"`
}

// ConnectionData decodes Data of a connection.* event.
func (e *WebhookEvent) ConnectionData() (*ConnectionEventData, error) {
	if !strings.HasPrefix(e.Type, "connection.") {
		return nil, fmt.Errorf("connectr: a %s event holds no connection", e.Type)
	}
	var out ConnectionEventData
	if err := json.Unmarshal(e.Data, &out); err != nil {
		return nil, fmt.Errorf("connectr: the %s event's data: %w", e.Type, err)
	}
	return &out, nil
}

func verificationError(reason string) error {
	return fmt.Errorf("%w: %s", ErrWebhookVerification, reason)
}

// webhookKey is the HMAC key of a whsec_ secret.
func webhookKey(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, "whsec_")
	if !ok || encoded == "" {
		return nil, ErrWebhookSecret
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		// Unpadded base64 is accepted, as the official libraries accept it.
		if key, err = base64.RawStdEncoding.DecodeString(encoded); err != nil {
			return nil, ErrWebhookSecret
		}
	}
	if len(key) == 0 {
		return nil, ErrWebhookSecret
	}
	return key, nil
}

// VerifyWebhook checks a delivery of connectr's webhooks as the Standard Webhooks
// specification says (standardwebhooks.com) and returns its event. payload is the request
// body exactly as received (never a re-encoded value); secrets are the endpoint's whsec_…
// secret, or several (during your own migration to a rotated one): the delivery verifies when
// one of the space-separated v1 signatures of its webhook-signature header is the HMAC-SHA256,
// under one of the secrets, of "{webhook-id}.{webhook-timestamp}.{payload}" (compared in
// constant time), and its webhook-timestamp is within WebhookTolerance of now.
//
//	event, err := connectr.VerifyWebhook(body, r.Header, os.Getenv("WEBHOOK_SECRET"))
//	if errors.Is(err, connectr.ErrWebhookVerification) { http.Error(w, "bad signature", 400); return }
func VerifyWebhook(payload []byte, header http.Header, secrets ...string) (*WebhookEvent, error) {
	return verifyWebhookAt(time.Now(), payload, header, secrets)
}

func verifyWebhookAt(now time.Time, payload []byte, header http.Header, secrets []string) (*WebhookEvent, error) {
	if len(secrets) == 0 {
		return nil, ErrWebhookSecret
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		key, err := webhookKey(s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	id := header.Get("webhook-id")
	stamp := header.Get("webhook-timestamp")
	signatures := header.Get("webhook-signature")
	if id == "" || stamp == "" || signatures == "" {
		return nil, verificationError("missing required headers")
	}
	seconds, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return nil, verificationError("invalid webhook-timestamp")
	}
	at := time.Unix(seconds, 0)
	if now.Sub(at) > WebhookTolerance {
		return nil, verificationError("message timestamp too old")
	}
	if at.Sub(now) > WebhookTolerance {
		return nil, verificationError("message timestamp too new")
	}
	signed := make([]byte, 0, len(id)+len(stamp)+len(payload)+2)
	signed = append(append(append(append(append(signed, id...), '.'), stamp...), '.'), payload...)
	if !anySignatureMatches(keys, signed, signatures) {
		return nil, verificationError("no matching signature found")
	}
	var event WebhookEvent
	if err := json.Unmarshal(payload, &event); err != nil || event.Type == "" {
		return nil, verificationError("the body is not a webhook event")
	}
	event.ID = id
	return &event, nil
}

// anySignatureMatches compares every v1 signature of the header with the HMAC under every key.
func anySignatureMatches(keys [][]byte, signed []byte, header string) bool {
	expected := make([][]byte, len(keys))
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		expected[i] = mac.Sum(nil)
	}
	for _, versioned := range strings.Split(header, " ") {
		version, encoded, ok := strings.Cut(versioned, ",")
		if !ok || version != "v1" {
			continue // another scheme (v1a: asymmetric), or garbage
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		for _, want := range expected {
			if hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}
