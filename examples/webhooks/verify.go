// A receiver of connectr's webhooks: verifies each delivery with the Go SDK and acts on it.
//
//	WEBHOOK_SECRET=whsec_... go run verify.go 127.0.0.1:8000
//
// During a secret rotation, give both secrets, space-separated.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	connectr "github.com/connectr/connectr/sdk/go"
)

func main() {
	secrets := strings.Fields(os.Getenv("WEBHOOK_SECRET"))
	addr := "127.0.0.1:8000"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		// The body exactly as it came: a signature covers these bytes, not a re-encoding of them.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		event, err := connectr.VerifyWebhook(body, r.Header, secrets...)
		if errors.Is(err, connectr.ErrWebhookVerification) {
			http.Error(w, "invalid webhook", http.StatusBadRequest)
			return
		} else if err != nil {
			log.Fatal(err) // a malformed secret: the receiver's own configuration
		}
		// event.ID is the same on every retry of an event: skip the ones already handled.
		switch event.Type {
		case connectr.EventConnectionNeedsReauth:
			data, err := event.ConnectionData()
			if err != nil {
				http.Error(w, "unexpected data", http.StatusBadRequest)
				return
			}
			reason := ""
			if data.Reason != nil {
				reason = data.Reason.Code
			}
			fmt.Printf("%s %s %s %s\n", event.ID, event.Type, data.ID, reason) // ask the user to sign in again
		default:
			fmt.Printf("%s %s\n", event.ID, event.Type)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s/webhooks\n", listener.Addr())
	log.Fatal(http.Serve(listener, nil))
}
