package connectr_test

// Webhook management against the harness's real daemon, with a receiver on 127.0.0.1 that
// checks every delivery with VerifyWebhook.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

type receivedDelivery struct {
	header http.Header
	body   []byte
}

// deliveryReceiver records every request it gets and answers 204.
type deliveryReceiver struct {
	mu   sync.Mutex
	got  []receivedDelivery
	srv  *httptest.Server
	hook string
}

func newDeliveryReceiver(t *testing.T) *deliveryReceiver {
	t.Helper()
	r := &deliveryReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.got = append(r.got, receivedDelivery{req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	r.hook = r.srv.URL + "/hooks"
	return r
}

func (r *deliveryReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// await is the first delivery from index from on that match accepts, within 30 s.
func (r *deliveryReceiver) await(t *testing.T, from int, match func(receivedDelivery) bool) receivedDelivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, d := range r.got[min(from, len(r.got)):] {
			if match(d) {
				r.mu.Unlock()
				return d
			}
		}
		r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no such delivery within 30 s")
	return receivedDelivery{}
}

func TestLiveWebhooks(t *testing.T) {
	c := liveClient(t, "")
	ctx := context.Background()
	r := newDeliveryReceiver(t)

	made, err := c.CreateWebhook(ctx, connectr.CreateWebhookRequest{URL: r.hook, Description: "go sdk test"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(made.Secret, "whsec_") || made.URL != r.hook || made.Description == nil || *made.Description != "go sdk test" {
		t.Fatalf("created %+v", made.Webhook)
	}
	if !contains(made.Events, connectr.EventConnectionCreated) {
		t.Fatalf("default events %v", made.Events)
	}
	list, err := c.ListWebhooks(ctx)
	if err != nil || !hasWebhook(list, made.ID) {
		t.Fatalf("list %v %v", list, err)
	}
	shown, err := c.GetWebhook(ctx, made.ID)
	if err != nil || shown.URL != r.hook {
		t.Fatalf("show %+v %v", shown, err)
	}
	renamed := "renamed"
	updated, err := c.UpdateWebhook(ctx, made.ID, connectr.UpdateWebhookRequest{Description: &renamed})
	if err != nil || updated.Description == nil || *updated.Description != renamed {
		t.Fatalf("update %+v %v", updated, err)
	}

	// A connection event reaches the receiver, signed with the endpoint's secret.
	from := r.count()
	conn, err := c.CreateConnection(ctx, connectr.CreateConnectionRequest{ConnectorType: "gmail", Name: "go webhook test"})
	if err != nil {
		t.Fatal(err)
	}
	d := r.await(t, from, func(d receivedDelivery) bool { return strings.Contains(string(d.body), conn.ID) })
	event, err := connectr.VerifyWebhook(d.body, d.header, made.Secret)
	if err != nil || event.Type != connectr.EventConnectionCreated {
		t.Fatalf("event %+v %v", event, err)
	}
	if data, err := event.ConnectionData(); err != nil || data.ID != conn.ID {
		t.Fatalf("data %+v %v", data, err)
	}

	// After a rotation both secrets sign.
	rotated, err := c.RotateWebhookSecret(ctx, made.ID)
	if err != nil || rotated.ID != made.ID || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == made.Secret {
		t.Fatalf("rotate %v", err)
	}
	from = r.count()
	queued, err := c.TestWebhook(ctx, made.ID)
	if err != nil || queued.EventID == "" {
		t.Fatalf("test %+v %v", queued, err)
	}
	d = r.await(t, from, func(d receivedDelivery) bool { return strings.Contains(string(d.body), connectr.EventWebhookTest) })
	for _, secret := range []string{made.Secret, rotated.Secret} {
		if event, err := connectr.VerifyWebhook(d.body, d.header, secret); err != nil || event.Type != connectr.EventWebhookTest || event.ID != queued.EventID {
			t.Fatalf("test event %+v %v", event, err)
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		deliveries, err := c.ListWebhookDeliveries(ctx, made.ID, connectr.ListWebhookDeliveriesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if delivered(deliveries, queued.EventID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test delivery is not listed as delivered: %+v", deliveries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if deliveries, err := c.ListWebhookDeliveries(ctx, made.ID, connectr.ListWebhookDeliveriesOptions{Limit: 1}); err != nil || len(deliveries) != 1 {
		t.Fatalf("limit 1: %+v %v", deliveries, err)
	}

	from = r.count()
	if again, err := c.RedeliverWebhook(ctx, made.ID, queued.EventID); err != nil || again.EventID != queued.EventID {
		t.Fatalf("redeliver %+v %v", again, err)
	}
	d = r.await(t, from, func(d receivedDelivery) bool { return d.header.Get("Webhook-Id") == queued.EventID })
	if _, err := connectr.VerifyWebhook(d.body, d.header, rotated.Secret); err != nil {
		t.Fatal(err)
	}

	if _, err := c.DeleteWebhook(ctx, made.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWebhook(ctx, made.ID)
	wantCode(t, err, connectr.ErrNotFound, 404)
	if _, err := c.DeleteConnection(ctx, conn.ID); err != nil {
		t.Fatal(err)
	}
}

func TestLiveWebhooksHostile(t *testing.T) {
	c := liveClient(t, "")
	ctx := context.Background()
	r := newDeliveryReceiver(t)
	for _, u := range []string{"http://example.com/hook", "ftp://127.0.0.1/hook", "not a url"} {
		_, err := c.CreateWebhook(ctx, connectr.CreateWebhookRequest{URL: u})
		wantCode(t, err, connectr.ErrInvalidInput, 400)
	}
	_, err := c.CreateWebhook(ctx, connectr.CreateWebhookRequest{URL: r.hook, Events: []string{"connection.nope"}})
	wantCode(t, err, connectr.ErrInvalidInput, 400)

	made, err := c.CreateWebhook(ctx, connectr.CreateWebhookRequest{URL: r.hook})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = c.DeleteWebhook(ctx, made.ID) }()
	other := liveClient(t, live(t).OtherKey)
	_, err = other.GetWebhook(ctx, made.ID)
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = other.RotateWebhookSecret(ctx, made.ID)
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = other.DeleteWebhook(ctx, made.ID)
	wantCode(t, err, connectr.ErrNotFound, 404)
	if list, err := other.ListWebhooks(ctx); err != nil || hasWebhook(list, made.ID) {
		t.Fatalf("another project lists it: %v", err)
	}
	_, err = c.GetWebhook(ctx, "wh_unknown0")
	wantCode(t, err, connectr.ErrNotFound, 404)
	_, err = c.RedeliverWebhook(ctx, made.ID, "msg_unknown0")
	wantCode(t, err, connectr.ErrNotFound, 404)
	if _, err := c.GetWebhook(ctx, ".."); err == nil || errors.Is(err, connectr.ErrNotFound) {
		t.Fatalf("a dot segment was sent: %v", err)
	}
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func hasWebhook(list []connectr.Webhook, id string) bool {
	for _, w := range list {
		if w.ID == id {
			return true
		}
	}
	return false
}

func delivered(list []connectr.WebhookDelivery, eventID string) bool {
	for _, d := range list {
		if d.EventID == eventID && d.State == "delivered" && d.Type == connectr.EventWebhookTest && d.LastStatus != nil && *d.LastStatus == 204 {
			return true
		}
	}
	return false
}
