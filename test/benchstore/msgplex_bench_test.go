package benchstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"msgplex/internal/e2e"
	"msgplex/store"
	"msgplex/store/mailbox"
)

// msgplexPass is every benchmark user's password in the LDIF directory.
const msgplexPass = "pw"

// msgplexUsers writes the LDIF directory of every benchmark user.
func msgplexUsers(b *testing.B, dir string, sc scale) string {
	users := []e2e.User{{UID: "probe", Password: msgplexPass}}
	for _, n := range append(append([]int(nil), sc.Sizes...), sc.MsgplexOnly...) {
		users = append(users, e2e.User{UID: folderUser(n), Password: msgplexPass})
	}
	for _, u := range []string{"app1", "app4", "body"} {
		users = append(users, e2e.User{UID: u, Password: msgplexPass})
	}
	return e2e.WriteLDIF(b, dir, users...)
}

// startMsgplex starts `msgplex store` on dataRoot and describes it.
func startMsgplex(b *testing.B, dataRoot, ldif string) server {
	p := e2e.StartStore(b, e2e.StoreConfig{DataRoot: dataRoot, LDIF: ldif})
	root := findProc(p.Config)
	if root == 0 {
		b.Fatalf("msgplex store with config %s: no such process", p.Config)
	}
	return server{Name: "msgplex", Addr: p.Addr, Pass: msgplexPass, Root: func() int { return root }}
}

// benchMsgplex builds (or reuses) the folders in a cached data root,
// measures reads on a store daemon over it, then writes on a second
// daemon over a fresh data root.
func benchMsgplex(b *testing.B, sc scale, rec *recorder, msgs [][]byte) {
	tmp := workDir(b)
	ldif := msgplexUsers(b, tmp, sc)
	key := sourceKey([]string{"store/names.go", "store/index/*.go", "store/mailbox/*.go", "store/mboxlist/*.go"},
		corpusDir(), fmt.Sprint(maxFilesFolder), "v1")
	all := append(append([]int(nil), sc.Sizes...), sc.MsgplexOnly...)
	cache, ok := cacheDir(b, sc, tmp, "msgplex", key)
	dataRoot := filepath.Join(cache, "data")
	if !ok {
		for _, n := range all {
			t0 := time.Now()
			if err := bulkBuild(dataRoot, folderUser(n), msgs, n, n <= maxFilesFolder); err != nil {
				rec.missing("select-"+humanCount(n)+"-p50", "msgplex", fmt.Errorf("building the folder: %w", err))
				b.Fatalf("msgplex: building %s: %v", folderUser(n), err)
			}
			note := "bulk import with message files"
			if n > maxFilesFolder {
				note = "bulk import, index only"
			}
			rec.built(humanCount(n)+"-import", "msgplex", time.Since(t0), note)
		}
		markComplete(b, cache)
	}
	srv := startMsgplex(b, dataRoot, ldif)
	fetch := map[int]bool{}
	for _, n := range sc.Sizes {
		fetch[n] = true
	}
	readFigures(b, sc, rec, srv, all, fetch)
}

// maxFilesFolder is the largest built folder with message files; larger
// ones (10 million) are index-only: records without message files, which
// is all SELECT and STATUS read (and 10 million files would take ~50 GB).
const maxFilesFolder = 1000000

// bulkChunk is how many messages one BulkAppend call adds.
const bulkChunk = 250000

// bulkBuild fills user's INBOX in the data root with n messages cycled
// from msgs (flags of flagsFor, one-second-apart dates) through the
// store's bulk-import path (mailbox.BulkAppend: one syncfs per chunk
// instead of per-message fsyncs). Without withFiles the records have no
// message files.
func bulkBuild(dataRoot, user string, msgs [][]byte, n int, withFiles bool) error {
	s, err := store.Open(store.Options{DataRoot: dataRoot})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.EnsureUser(ctx, user); err != nil {
		return fmt.Errorf("ensure user %s: %w", user, err)
	}
	dir := s.FolderDir(user, "INBOX")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; done += bulkChunk {
		k := min(bulkChunk, n-done)
		gen := func(i int) mailbox.BulkMessage {
			j := done + i
			m := msgs[j%len(msgs)]
			bm := mailbox.BulkMessage{Size: int64(len(m)), Flags: flagsFor(j), Date: base.Add(time.Duration(j) * time.Second)}
			if withFiles {
				bm.Data = m
			}
			return bm
		}
		if _, err := mailbox.BulkAppend(dir, k, gen, s.MailboxOptions()); err != nil {
			return fmt.Errorf("bulk append %d..%d to %s: %w", done, done+k, dir, err)
		}
	}
	return nil
}
