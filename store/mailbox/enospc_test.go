package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallFS mounts a tmpfs of size bytes (root only) or skips the test.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// A full file system makes Append fail (ENOSPC), never half-succeed: the
// folder keeps exactly the acknowledged messages, no temp file or message
// file of the failed append stays behind (Reconstruct would otherwise
// adopt a message the client was told was not stored), and once space is
// free again appends continue with the next UID.
func TestAppendDiskFull(t *testing.T) {
	root := smallFS(t, "2m")
	dir := filepath.Join(root, "INBOX")
	if err := Create(dir, 777); err != nil {
		t.Fatal(err)
	}
	reserve := filepath.Join(root, "reserve")
	if err := os.WriteFile(reserve, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	// Ballast: one-page files, freed one at a time below so that a
	// message file fits but store.cache or store.idx may not grow.
	var pages []string
	for i := range 128 {
		p := filepath.Join(root, fmt.Sprintf("ballast%d", i))
		if err := os.WriteFile(p, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	opts := testOpts(0) // no mappings: they would keep the mount busy
	body := func(i, n int) string {
		return fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", i, strings.Repeat("x", n))
	}
	var acked []string
	var failed error
	for i := 0; i < 200 && failed == nil; i++ {
		msg := body(i, 40<<10+i*997)
		if _, err := AppendTo(dir, strings.NewReader(msg), nil, testDate, opts); err != nil {
			failed = err
			break
		}
		acked = append(acked, msg)
	}
	if failed == nil {
		t.Fatal("the file system never filled up")
	}
	if !errors.Is(failed, syscall.ENOSPC) {
		t.Errorf("append error does not wrap ENOSPC: %v", failed)
	}
	// Fill the last bytes too, then try again: the failure may now come
	// after the message file is in place (cache, index).
	for n := 64 << 10; n >= 512; n /= 2 {
		for j := 0; j < 50; j++ {
			msg := body(1000+j, n)
			if _, err := AppendTo(dir, strings.NewReader(msg), nil, testDate, opts); err != nil {
				t.Logf("%d bytes: %v", n, err)
				break
			}
			acked = append(acked, msg)
		}
	}
	checkFolder := func() {
		t.Helper()
		m := mustOpen(t, dir, true, opts)
		if m.Count() != uint32(len(acked)) {
			t.Fatalf("folder has %d messages, %d acknowledged", m.Count(), len(acked))
		}
		for seq := uint32(1); seq <= m.Count(); seq++ {
			msg, err := m.Message(seq)
			if err != nil {
				t.Fatal(err)
			}
			f, err := m.OpenMessage(msg.UID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != acked[seq-1] {
				t.Fatalf("message %d (UID %d) differs", seq, msg.UID)
			}
		}
		st := m.Status()
		if st.UIDNext != uint32(len(acked))+1 {
			t.Errorf("UIDNEXT %d, want %d", st.UIDNext, len(acked)+1)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp") || strings.HasSuffix(e.Name(), ".new") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, "*", "*.msg"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(acked) {
			t.Errorf("%d message files on disk, %d acknowledged", len(files), len(acked))
		}
	}
	checkFolder()
	late := 0
	for i, p := range pages {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		msg := body(2000+i, 1500)
		if _, err := AppendTo(dir, strings.NewReader(msg), nil, testDate, opts); err != nil {
			if !strings.Contains(err.Error(), "write message") {
				late++ // failed after the message file was written
				files, _ := filepath.Glob(filepath.Join(dir, "*", "*.msg"))
				if len(files) != len(acked) {
					t.Errorf("after %v: %d message files on disk, %d acknowledged", err, len(files), len(acked))
				}
			}
			continue
		}
		acked = append(acked, msg)
	}
	t.Logf("%d appends failed after writing the message file", late)
	checkFolder()
	if late == 0 {
		t.Error("no append failed after writing its message file: the test did not reach that path")
	}
	if err := os.Remove(reserve); err != nil {
		t.Fatal(err)
	}
	msg := body(9999, 100)
	uid, err := AppendTo(dir, strings.NewReader(msg), nil, testDate, opts)
	if err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
	acked = append(acked, msg)
	if uid != uint32(len(acked)) {
		t.Errorf("UID %d after the failures, want %d", uid, len(acked))
	}
	checkFolder()
	rep, err := Reconstruct(dir, 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 0 || rep.Dropped != 0 {
		t.Errorf("reconstruct after disk-full appends: %+v", rep)
	}
	checkFolder()
}
