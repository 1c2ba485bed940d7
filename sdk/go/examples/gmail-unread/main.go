// gmail-unread lists the unread messages of a Gmail connection: one line per message, its
// id, sender and subject, every page followed, through the generated connectors.Gmail.
//
//	CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=cnr_... go run ./examples/gmail-unread conn_...
//
// The connection id is the first argument, else CONNECTR_CONNECTION_ID.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"

	connectr "github.com/connectr/connectr/sdk/go"
	"github.com/connectr/connectr/sdk/go/connectors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gmail-unread:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	id := os.Getenv("CONNECTR_CONNECTION_ID")
	if len(args) > 0 {
		id = args[0]
	}
	if id == "" {
		return fmt.Errorf("usage: gmail-unread <connection id> (or CONNECTR_CONNECTION_ID)")
	}
	client, err := connectr.NewClient() // CONNECTR_URL, CONNECTR_API_KEY
	if err != nil {
		return err
	}
	gmail := connectors.NewGmail(client, id) // generated from connectors/gmail.yaml
	count := 0
	query := "is:unread"
	for item, err := range gmail.ListMessagesAll(ctx, connectors.GmailListMessagesParams{Q: &query}) {
		if err != nil {
			return err
		}
		var ref struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(item, &ref); err != nil {
			return err
		}
		format := connectors.GmailGetMessageFormatMetadata
		res, err := gmail.GetMessage(ctx, connectors.GmailGetMessageParams{
			ID: ref.ID, Format: &format, MetadataHeaders: []string{"From", "Subject"},
		})
		if err != nil {
			return err
		}
		if res.Status != 200 {
			return fmt.Errorf("get_message %s: the Gmail API answered %d: %s", ref.ID, res.Status, res.Body)
		}
		var msg struct {
			Payload struct {
				Headers []struct{ Name, Value string } `json:"headers"`
			} `json:"payload"`
		}
		if err := res.JSON(&msg); err != nil {
			return err
		}
		headers := map[string]string{}
		for _, h := range msg.Payload.Headers {
			headers[strings.ToLower(h.Name)] = h.Value
		}
		fmt.Printf("%s\t%s\t%s\n", ref.ID, clean(headers["from"]), clean(headers["subject"]))
		count++
	}
	fmt.Printf("%d unread\n", count)
	return nil
}

// clean keeps a mail header from driving the terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
