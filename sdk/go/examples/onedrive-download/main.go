// onedrive-download downloads a file of a OneDrive connection, by its path from the drive's
// root, to a local file (or "-" for stdout).
//
//	CONNECTR_URL=... CONNECTR_API_KEY=... go run ./examples/onedrive-download conn_... Documents/report.pdf ./report.pdf
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
		fmt.Fprintln(os.Stderr, "onedrive-download:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: onedrive-download <connection id> <path in the drive> <local file or ->")
	}
	id, remote, local := args[0], args[1], args[2]
	client, err := connectr.NewClient()
	if err != nil {
		return err
	}
	res, err := client.Execute(ctx, connectr.ExecuteRequest{
		ConnectionID: id, Endpoint: "download_by_path",
		Params: map[string]any{"path": remote},
		Retry:  true, // a read: safe to repeat
	})
	if err != nil {
		return err
	}
	if res.Status != 200 {
		return fmt.Errorf("the OneDrive API answered %d: %s", res.Status, res.Body)
	}
	if local == "-" {
		_, err = os.Stdout.Write(res.Body)
		return err
	}
	// Written through whatever the path is (a file, a FIFO, a device), never renamed over.
	out, err := os.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.Write(res.Body); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	fmt.Printf("downloaded %s: %d bytes to %s\n", remote, len(res.Body), local)
	return nil
}
