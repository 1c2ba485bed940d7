package connectr_test

// CreateConnection's ConnectorVersion: sent when set, left out when zero (the newest).

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"

	connectr "github.com/connectr/connectr/sdk/go"
)

func connectrCreate(version int) connectr.CreateConnectionRequest {
	return connectr.CreateConnectionRequest{ConnectorType: "gmail", Name: "n", ConnectorVersion: version}
}

func TestCreateConnectionConnectorVersion(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv, _ := fake(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"conn_1","connector_type":"gmail","connector_version":1,"name":"n"}`)
	})
	c := fakeClient(t, srv.URL, &sleeps{})
	made, err := c.CreateConnection(context.Background(), connectrCreate(1))
	if err != nil {
		t.Fatal(err)
	}
	if made.ConnectorVersion != 1 {
		t.Fatalf("ConnectorVersion = %d, want 1", made.ConnectorVersion)
	}
	if _, err := c.CreateConnection(context.Background(), connectrCreate(0)); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"connector_type": "gmail", "name": "n", "connector_version": float64(1)},
		{"connector_type": "gmail", "name": "n"},
	}
	if !reflect.DeepEqual(bodies, want) {
		t.Fatalf("bodies = %v, want %v", bodies, want)
	}
}
