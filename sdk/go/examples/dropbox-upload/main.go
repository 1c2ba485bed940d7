// dropbox-upload uploads a local file to a Dropbox connection, streamed from the file as
// it is sent (the execute body is base64-encoded on the fly, never held whole).
//
//	CONNECTR_URL=... CONNECTR_API_KEY=... go run ./examples/dropbox-upload conn_... ./report.pdf /Reports/report.pdf
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	connectr "github.com/connectr/connectr/sdk/go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dropbox-upload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: dropbox-upload <connection id> <local file> <dropbox path>")
	}
	id, local, remote := args[0], args[1], args[2]
	client, err := connectr.NewClient()
	if err != nil {
		return err
	}
	file, err := os.Open(local)
	if err != nil {
		return err
	}
	defer file.Close()
	res, err := client.Execute(ctx, connectr.ExecuteRequest{
		ConnectionID: id, Endpoint: "upload",
		Params:     map[string]any{"path": remote, "mode": "overwrite"},
		BodyReader: file,
	})
	if err != nil {
		return err
	}
	if res.Status != 200 {
		return fmt.Errorf("the Dropbox API answered %d: %s", res.Status, res.Body)
	}
	var meta struct {
		PathDisplay string `json:"path_display"`
		Size        int64  `json:"size"`
	}
	if err := res.JSON(&meta); err != nil {
		return err
	}
	fmt.Printf("uploaded %s (%d bytes)\n", meta.PathDisplay, meta.Size)
	return nil
}
