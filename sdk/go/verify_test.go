package connectr_test

// VerifyWebhook against deliveries signed, during the test run, by the official Standard
// Webhooks library (npm standardwebhooks, in the repository's node_modules): the Go
// verification is this SDK's own code, so it is checked against another implementation, never
// against values made by itself.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	connectr "github.com/connectr/connectr/sdk/go"
)

// signRequest is one delivery for the official library to sign with each of Secrets.
type signRequest struct {
	ID      string   `json:"id"`
	Seconds int64    `json:"seconds"`
	Body    string   `json:"body"`
	Secrets []string `json:"secrets"`
}

// signScript reads the requests on stdin and prints each one's webhook-signature header value.
const signScript = `
const { Webhook } = require('standardwebhooks');
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((r) =>
    r.secrets.map((s) => new Webhook(s).sign(r.id, new Date(r.seconds * 1000), r.body)).join(' '));
  process.stdout.write(JSON.stringify(out));
});`

// officialSignatures signs every request with the npm library, in one node process.
func officialSignatures(t *testing.T, requests []signRequest) []string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	input, err := json.Marshal(requests)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "-e", signScript)
	cmd.Dir = root // require() finds node_modules/standardwebhooks there
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("signing with npm standardwebhooks (npm ci done?): %v\n%s", err, stderr.String())
	}
	var signatures []string
	if err := json.Unmarshal(out, &signatures); err != nil || len(signatures) != len(requests) {
		t.Fatalf("the signer printed %q (%v)", out, err)
	}
	return signatures
}

func newSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

const verifyBody = `{"type":"connection.needs_reauth","timestamp":"2026-12-07T20:00:00.000Z","data":{"id":"conn_1","connector_type":"gmail","name":"Work mail","user_id":"user-1","status":"needs_reauth","account_identity":null,"scopes":[],"created_at":"2026-12-01T00:00:00.000Z","updated_at":"2026-12-07T20:00:00.000Z","last_refresh_at":null,"reason":{"code":"refresh_rejected","message":"the provider refused the refresh token"}}}`

func TestVerifyWebhookAgainstTheOfficialLibrary(t *testing.T) {
	secret, old, stranger := newSecret(t), newSecret(t), newSecret(t)
	now := time.Now().Unix()
	const id = "evt_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	requests := []signRequest{
		{ID: id, Seconds: now, Body: verifyBody, Secrets: []string{secret}},            // 0: valid
		{ID: id, Seconds: now - 6*60, Body: verifyBody, Secrets: []string{secret}},     // 1: stale
		{ID: id, Seconds: now + 6*60, Body: verifyBody, Secrets: []string{secret}},     // 2: ahead
		{ID: id, Seconds: now - 4*60, Body: verifyBody, Secrets: []string{secret}},     // 3: within the tolerance
		{ID: id, Seconds: now, Body: verifyBody, Secrets: []string{old, secret}},       // 4: during a rotation
		{ID: id, Seconds: now, Body: verifyBody, Secrets: []string{stranger}},          // 5: another endpoint's secret
		{ID: id, Seconds: now, Body: "not json", Secrets: []string{secret}},            // 6: signed, not an event
		{ID: id, Seconds: now, Body: `{"data":{}}`, Secrets: []string{secret}},         // 7: signed, no type
		{ID: "evt_ü", Seconds: now, Body: verifyBody + " ", Secrets: []string{secret}}, // 8: non-ASCII id, trailing space
	}
	sigs := officialSignatures(t, requests)
	header := func(i int) http.Header {
		h := http.Header{}
		h.Set("Webhook-Id", requests[i].ID)
		h.Set("Webhook-Timestamp", strconv.FormatInt(requests[i].Seconds, 10))
		h.Set("Webhook-Signature", sigs[i])
		return h
	}
	refused := func(t *testing.T, err error, want string) {
		t.Helper()
		if !errors.Is(err, connectr.ErrWebhookVerification) {
			t.Fatalf("want ErrWebhookVerification, got %v", err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in %q", want, err)
		}
		for _, s := range []string{secret, old, stranger} {
			if strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
				t.Fatal("the error shows a secret")
			}
		}
	}

	t.Run("valid", func(t *testing.T) {
		event, err := connectr.VerifyWebhook([]byte(verifyBody), header(0), secret)
		if err != nil {
			t.Fatal(err)
		}
		if event.Type != connectr.EventConnectionNeedsReauth || event.ID != id || event.Timestamp != "2026-12-07T20:00:00.000Z" {
			t.Fatalf("event %+v", event)
		}
		data, err := event.ConnectionData()
		if err != nil || data.ID != "conn_1" || data.Reason == nil || data.Reason.Code != "refresh_rejected" {
			t.Fatalf("data %+v %v", data, err)
		}
		if event, err := connectr.VerifyWebhook([]byte(verifyBody+" "), header(8), secret); err != nil || event.ID != "evt_ü" {
			t.Fatalf("a non-ASCII id and a trailing space, byte for byte: %v", err)
		}
	})
	t.Run("tampered body", func(t *testing.T) {
		_, err := connectr.VerifyWebhook([]byte(strings.Replace(verifyBody, "user-1", "user-2", 1)), header(0), secret)
		refused(t, err, "no matching signature")
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, []byte(verifyBody), "", "  ")
		_, err = connectr.VerifyWebhook(pretty.Bytes(), header(0), secret)
		refused(t, err, "no matching signature")
		moved := header(0)
		moved.Set("Webhook-Id", "evt_other")
		_, err = connectr.VerifyWebhook([]byte(verifyBody), moved, secret)
		refused(t, err, "no matching signature")
	})
	t.Run("wrong secret", func(t *testing.T) {
		_, err := connectr.VerifyWebhook([]byte(verifyBody), header(5), secret)
		refused(t, err, "no matching signature")
		_, err = connectr.VerifyWebhook([]byte(verifyBody), header(0), stranger, old)
		refused(t, err, "no matching signature")
	})
	t.Run("stale and future timestamps", func(t *testing.T) {
		_, err := connectr.VerifyWebhook([]byte(verifyBody), header(1), secret)
		refused(t, err, "too old")
		_, err = connectr.VerifyWebhook([]byte(verifyBody), header(2), secret)
		refused(t, err, "too new")
		if _, err := connectr.VerifyWebhook([]byte(verifyBody), header(3), secret); err != nil {
			t.Fatalf("4 minutes old: %v", err)
		}
		// A signature made for another time does not verify under this one.
		moved := header(0)
		moved.Set("Webhook-Timestamp", strconv.FormatInt(now-1, 10))
		_, err = connectr.VerifyWebhook([]byte(verifyBody), moved, secret)
		refused(t, err, "no matching signature")
	})
	t.Run("two signatures during a rotation", func(t *testing.T) {
		if n := len(strings.Split(sigs[4], " ")); n != 2 {
			t.Fatalf("the official library made %d signatures", n)
		}
		for _, secrets := range [][]string{{old}, {secret}, {stranger, secret}} {
			if _, err := connectr.VerifyWebhook([]byte(verifyBody), header(4), secrets...); err != nil {
				t.Fatalf("with %d secret(s): %v", len(secrets), err)
			}
		}
		// The receiver holds both while the sender signs with the new one only.
		if _, err := connectr.VerifyWebhook([]byte(verifyBody), header(0), old, secret); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing and garbage headers", func(t *testing.T) {
		for _, name := range []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
			h := header(0)
			h.Del(name)
			_, err := connectr.VerifyWebhook([]byte(verifyBody), h, secret)
			refused(t, err, "missing required headers")
		}
		for value, want := range map[string]string{"soon": "invalid webhook-timestamp", "1e9": "invalid webhook-timestamp", "": "missing"} {
			h := header(0)
			h.Set("Webhook-Timestamp", value)
			_, err := connectr.VerifyWebhook([]byte(verifyBody), h, secret)
			refused(t, err, want)
		}
		for _, value := range []string{"v1,", "v1", "v1a," + strings.SplitN(sigs[0], ",", 2)[1], "v2," + strings.SplitN(sigs[0], ",", 2)[1], "v1,%%%", strings.Repeat("v1,AAAA ", 200)} {
			h := header(0)
			h.Set("Webhook-Signature", value)
			_, err := connectr.VerifyWebhook([]byte(verifyBody), h, secret)
			refused(t, err, "no matching signature")
		}
		_, err := connectr.VerifyWebhook([]byte(verifyBody), http.Header{}, secret)
		refused(t, err, "missing required headers")
	})
	t.Run("a signed body that is not an event", func(t *testing.T) {
		_, err := connectr.VerifyWebhook([]byte("not json"), header(6), secret)
		refused(t, err, "not a webhook event")
		_, err = connectr.VerifyWebhook([]byte(`{"data":{}}`), header(7), secret)
		refused(t, err, "not a webhook event")
	})
	t.Run("malformed secrets are the caller's error", func(t *testing.T) {
		for _, bad := range []string{"", "cnr_apikey", "whsec_", "whsec_not base64!", strings.TrimPrefix(secret, "whsec_")} {
			_, err := connectr.VerifyWebhook([]byte(verifyBody), header(0), bad)
			if !errors.Is(err, connectr.ErrWebhookSecret) || errors.Is(err, connectr.ErrWebhookVerification) {
				t.Fatalf("secret %q: %v", bad, err)
			}
		}
		if _, err := connectr.VerifyWebhook([]byte(verifyBody), header(0)); !errors.Is(err, connectr.ErrWebhookSecret) {
			t.Fatalf("no secret: %v", err)
		}
	})
}

// TestConnectionLastError reads last_error as the health fields give it ({code, message}) and
// as servers before them did (a message string).
func TestConnectionLastError(t *testing.T) {
	event := connectr.WebhookEvent{Type: connectr.EventConnectionNeedsReauth, Data: json.RawMessage(
		`{"id":"conn_1","status":"needs_reauth","last_used_at":"2026-12-07T19:00:00Z","last_checked_at":null,"last_error":{"code":"invalid_grant","message":"refresh refused"},"reason":{"code":"refresh_rejected","message":"refused"}}`)}
	data, err := event.ConnectionData()
	if err != nil || data.LastError == nil || *data.LastError != (connectr.ConnectionError{Code: "invalid_grant", Message: "refresh refused"}) || data.LastUsedAt == nil || data.LastCheckedAt != nil {
		t.Fatalf("%+v %v", data, err)
	}
	var old connectr.Connection
	if err := json.Unmarshal([]byte(`{"id":"conn_1","last_error":"token expired"}`), &old); err != nil || old.LastError == nil || old.LastError.Message != "token expired" {
		t.Fatalf("%+v %v", old, err)
	}
	if _, err := (&connectr.WebhookEvent{Type: connectr.EventWebhookTest, Data: json.RawMessage(`{}`)}).ConnectionData(); err == nil {
		t.Fatal("a webhook.test event has no connection")
	}
}
