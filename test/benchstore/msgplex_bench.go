package benchstore

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"msgplex/internal/e2e"
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
	key := sourceKey([]string{"store", "cmd/msgplex"}, corpusDir(), "v1")
	all := append(append([]int(nil), sc.Sizes...), sc.MsgplexOnly...)
	cache, ok := cacheDir(b, sc, tmp, "msgplex", key)
	dataRoot := filepath.Join(cache, "data")
	srv := startMsgplex(b, dataRoot, ldif)
	if !ok {
		for _, n := range all {
			t0 := time.Now()
			if err := buildMsgplexFolder(srv, dataRoot, folderUser(n), msgs, n); err != nil {
				rec.missing("select-"+humanCount(n)+"-p50", srv.Name, fmt.Errorf("building the folder: %w", err))
				b.Fatalf("msgplex: building %s: %v", folderUser(n), err)
			}
			b.Logf("msgplex: built %s (%d messages) in %v", folderUser(n), n, time.Since(t0).Round(time.Millisecond))
		}
		markComplete(b, cache)
	}
	fetch := map[int]bool{}
	for _, n := range sc.Sizes {
		fetch[n] = true
	}
	readFigures(b, sc, rec, srv, all, fetch)
	w := startMsgplex(b, filepath.Join(tmp, "fresh"), ldif)
	writeFigures(b, sc, rec, w, msgs)
}

// buildMsgplexFolder fills user's INBOX with n messages cycled from msgs
// (flags of flagsFor). Through IMAP APPEND with 4 clients for now.
func buildMsgplexFolder(srv server, dataRoot, user string, msgs [][]byte, n int) error {
	return appendBuild(srv, user, msgs, n, 4, 30*time.Minute)
}

// appendBuild APPENDs n messages with clients connections (bounded by
// maxDur), message i being msgs[i%len(msgs)] with flagsFor(i).
func appendBuild(srv server, user string, msgs [][]byte, n, clients int, maxDur time.Duration) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	deadline := time.Now().Add(maxDur)
	for k := 0; k < clients; k++ {
		c, err := appendClient(srv, user)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if time.Now().After(deadline) {
					mu.Lock()
					first = fmt.Errorf("not done in %v", maxDur)
					mu.Unlock()
					return
				}
				if _, err := appendOne(c, msgs[i%len(msgs)], flagsFor(i)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
