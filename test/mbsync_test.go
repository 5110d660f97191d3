package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"msgplex/internal/e2e"
)

// TestMbsyncBothWays syncs a maildir of a few hundred real messages to the
// store with Debian's mbsync (isync), adds mail on the IMAP side, syncs
// back, and pulls everything into a second, empty maildir: every body must
// arrive byte for byte (DESIGN.md: real third-party clients).
func TestMbsyncBothWays(t *testing.T) {
	mbsync := e2e.LookPath(t, "mbsync")
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "carol", Password: "pw-carol"})
	st := e2e.StartStore(t, e2e.StoreConfig{DataRoot: dir + "/data", LDIF: ldif})

	// The first maildir: the MIME corpus cycled to 300 distinct messages.
	corpus := loadCorpus(t)
	originals := map[string][]byte{} // X-Sync-Seq -> bytes
	near1 := filepath.Join(dir, "near1")
	for i := 0; i < 300; i++ {
		body := append([]byte(fmt.Sprintf("X-Sync-Seq: %d\n", i)), corpus[i%len(corpus)]...)
		originals[fmt.Sprint(i)] = body
		writeMaildir(t, filepath.Join(near1, "INBOX"), i, body)
	}
	cfg1 := writeMbsyncConfig(t, dir, "one", st.Addr, near1)
	runMbsync(t, mbsync, cfg1)

	// Mail delivered on the IMAP side, then synced back into maildir one.
	c := dialLogin(t, st.Addr, "carol", "pw-carol", nil)
	imapSide := map[string][]byte{}
	for i := 0; i < 20; i++ {
		body := []byte(fmt.Sprintf("X-Sync-Seq: imap-%d\r\nFrom: dave@example.com\r\nSubject: from IMAP %d\r\n\r\nline one\r\nline two %d\r\n", i, i, i))
		appendRaw(t, c, "INBOX", body)
		imapSide["imap-"+fmt.Sprint(i)] = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	}
	c.Close()
	runMbsync(t, mbsync, cfg1)

	// A fresh maildir pulls everything.
	near2 := filepath.Join(dir, "near2")
	cfg2 := writeMbsyncConfig(t, dir, "two", st.Addr, near2)
	runMbsync(t, mbsync, cfg2)

	got1 := readMaildir(t, filepath.Join(near1, "INBOX"))
	got2 := readMaildir(t, filepath.Join(near2, "INBOX"))
	want := map[string][]byte{}
	for k, v := range originals {
		want[k] = v
	}
	for k, v := range imapSide {
		want[k] = v
	}
	for name, got := range map[string]map[string][]byte{"maildir one": got1, "maildir two": got2} {
		if len(got) != len(want) {
			t.Errorf("%s has %d messages, want %d", name, len(got), len(want))
		}
		for k, w := range want {
			if !bytes.Equal(got[k], w) {
				t.Errorf("%s: message %s differs (%d bytes, want %d)", name, k, len(got[k]), len(w))
			}
		}
	}
}

func loadCorpus(t *testing.T) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e2e.SharedTestdata(), "mime", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no MIME corpus in %s: %v", e2e.SharedTestdata(), err)
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(b, '\r') >= 0 || !bytes.HasSuffix(b, []byte("\n")) {
			continue // maildir is LF-only: a bare CR cannot round-trip through any IMAP client
		}
		if !bytes.Contains(b, []byte("\n\n")) {
			continue // mbsync cannot insert its X-TUID into a message with no header/body separator and skips it
		}
		out = append(out, b)
	}
	return out
}

func writeMaildir(t *testing.T, dir string, i int, body []byte) {
	t.Helper()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("%d.M%dP1.msgplex-test:2,S", 1700000000+i, i)
	if err := os.WriteFile(filepath.Join(dir, "cur", name), body, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readMaildir maps each message's X-Sync-Seq to its bytes.
func readMaildir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sub := range []string{"cur", "new"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := bytes.Cut(b, []byte("\n"))
			key := strings.TrimSpace(strings.TrimPrefix(string(first), "X-Sync-Seq:"))
			b = stripTUID(b)
			if _, dup := out[key]; dup {
				t.Errorf("%s: message %s twice", dir, key)
			}
			out[key] = b
		}
	}
	return out
}

// stripTUID removes the X-TUID header mbsync itself inserts into messages
// it propagates (isync's way to find a stored message again); it is the
// client's addition, not the store's.
func stripTUID(b []byte) []byte {
	hdr, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return b
	}
	var out [][]byte
	for _, l := range bytes.Split(hdr, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("X-TUID: ")) {
			out = append(out, l)
		}
	}
	return append(append(bytes.Join(out, []byte("\n")), "\n\n"...), body...)
}

func writeMbsyncConfig(t *testing.T, dir, name, addr, near string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	cfg := fmt.Sprintf(`IMAPAccount acct
Host %s
Port %s
User carol
Pass pw-carol
SSLType None
AuthMechs LOGIN

IMAPStore far
Account acct

MaildirStore near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel ch
Far :far:
Near :near:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, near, near)
	p := filepath.Join(dir, "mbsyncrc-"+name)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(near, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func runMbsync(t *testing.T, mbsync, cfg string) {
	t.Helper()
	out, err := boundedCommand(t, 2*time.Minute, mbsync, "-c", cfg, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
}

// boundedCommand is exec.Command for a third-party client, killed after
// limit (or when the test ends), so a hung daemon fails the test instead
// of stalling it until go test's own timeout.
func boundedCommand(t *testing.T, limit time.Duration, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
