package connectr_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	connectr "github.com/connectr/connectr/sdk/go"
	"github.com/connectr/connectr/sdk/go/connectors"
)

// The generated connector clients (package connectors, made by `npm run generate` from
// connectors/*.yaml) against the harness: typed methods, iterators over every page, binary
// answers, streamed uploads, and the platform's errors coming through them.

func ptr[T any](v T) *T { return &v }

func TestGeneratedGmail(t *testing.T) {
	ctx := ctxT(t)
	gmail := connectors.NewGmail(liveClient(t, ""), live(t).Connections["gmail"])
	profile, err := gmail.GetProfile(ctx, connectors.GmailGetProfileParams{})
	if err != nil || profile.Status != 200 || !bytes.Contains(profile.Body, []byte("@")) {
		t.Fatalf("get_profile: %+v %v", profile, err)
	}
	var ids []string
	for item, err := range gmail.ListMessagesAll(ctx, connectors.GmailListMessagesParams{Q: ptr("is:unread"), MaxResults: ptr[int64](2)}) {
		if err != nil {
			t.Fatal(err)
		}
		var ref struct{ ID string }
		if err := json.Unmarshal(item, &ref); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ref.ID)
	}
	if len(ids) != 4 {
		t.Fatalf("unread over pages of 2: %v, want 4 ids", ids)
	}
	format := connectors.GmailGetMessageFormatMinimal
	msg, err := gmail.GetMessage(ctx, connectors.GmailGetMessageParams{ID: ids[0], Format: &format})
	if err != nil || msg.Status != 200 || !bytes.Contains(msg.Body, []byte(ids[0])) {
		t.Fatalf("get_message: %+v %v", msg, err)
	}
	// A value outside the enum is refused by the server, naming the param; nothing is sent.
	bad := connectors.GmailGetMessageFormat("everything")
	_, err = gmail.GetMessage(ctx, connectors.GmailGetMessageParams{ID: ids[0], Format: &bad})
	var apiErr *connectr.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("a bad format: %v, want a 400", err)
	}
	other := connectors.NewGmail(liveClient(t, live(t).OtherKey), live(t).Connections["gmail"])
	if _, err := other.GetProfile(ctx, connectors.GmailGetProfileParams{}); !errors.Is(err, connectr.ErrNotFound) {
		t.Fatalf("another project's connection: %v, want ErrNotFound", err)
	}
}

func TestGeneratedDropboxAndOneDrive(t *testing.T) {
	ctx := ctxT(t)
	content := bytes.Repeat([]byte("generated "), 5000)
	dropbox := connectors.NewDropbox(liveClient(t, ""), live(t).Connections["dropbox"])
	mode := connectors.DropboxUploadModeOverwrite
	saved, err := dropbox.Upload(ctx, connectors.DropboxUploadParams{File: bytes.NewReader(content), Path: "/docs/generated-go.bin", Mode: &mode})
	if err != nil || saved.Status != 200 {
		t.Fatalf("upload: %+v %v", saved, err)
	}
	got, err := dropbox.Download(ctx, connectors.DropboxDownloadParams{Path: "/docs/generated-go.bin"})
	if err != nil || !bytes.Equal(got.Body, content) {
		t.Fatalf("download: %d bytes, %v", len(got.Body), err)
	}
	onedrive := connectors.NewOnedrive(liveClient(t, ""), live(t).Connections["onedrive"])
	file, err := onedrive.DownloadByPath(ctx, connectors.OnedriveDownloadByPathParams{Path: "hello.txt"})
	if err != nil || string(file.Body) != "hello from onedrive\n" {
		t.Fatalf("download_by_path: %q %v", file.Body, err)
	}
}
