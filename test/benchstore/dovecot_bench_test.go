package benchstore

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchDovecot starts a private Dovecot on built (or cached) maildirs and
// measures it.
func benchDovecot(b *testing.B, sc scale, rec *recorder, msgs [][]byte) {
	tmp := workDir(b)
	d := startDovecot(b, filepath.Join(tmp, "dovecot"), filepath.Join(tmp, "dovecot-mail"))
	srv := server{Name: "dovecot", Addr: d.Addr, Pass: dovecotPass, Root: d.pid}
	fetch := map[int]bool{}
	for _, n := range sc.Sizes {
		fetch[n] = true
		user := folderUser(n)
		key := sourceKey(nil, dovecotVersion(), corpusDir(), user, "v1")
		home, ok := cacheDir(b, sc, tmp, "dovecot-"+user, key)
		if !ok {
			b.Logf("dovecot: building %s (%d messages) in %s", user, n, home)
			t0 := time.Now()
			buildMaildir(b, home, msgs, n)
			rec.built(humanCount(n)+"-files", "dovecot", time.Since(t0), "maildir files written (hard links)")
		}
		d.linkUser(b, user, home)
		if !ok {
			t0 := time.Now()
			d.indexFolder(b, user, n) // Dovecot's first indexing: not measured
			rec.built(humanCount(n)+"-index", "dovecot", time.Since(t0), "first SELECT: Dovecot indexes the maildir")
			markComplete(b, home)
		}
	}
	syscall.Sync() // let the builds' writeback finish before measuring
	readFigures(b, sc, rec, srv, sc.Sizes, fetch)
}
