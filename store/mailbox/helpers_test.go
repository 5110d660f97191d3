package mailbox

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"msgplex/store/index"
)

// testSummarize stores the first line of the message as its blob.
func testSummarize(f *os.File, size int64) ([]byte, error) {
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return []byte("empty"), nil
	}
	return []byte(strings.TrimSpace(line)), nil
}

func testOpts(limit int64) Options {
	return Options{Budget: index.NewBudget(limit), Summarize: testSummarize}
}

func newFolder(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "INBOX")
	if err := Create(dir, 12345); err != nil {
		t.Fatal(err)
	}
	return dir
}

func msgText(i int) string {
	return fmt.Sprintf("Subject: message %d\r\n\r\nbody %d\r\n", i, i)
}

var testDate = time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600))

func mustAppend(t testing.TB, dir string, i int, flags ...string) uint32 {
	t.Helper()
	uid, err := AppendTo(dir, strings.NewReader(msgText(i)), flags, testDate, testOpts(1<<20))
	if err != nil {
		t.Fatalf("append %d: %v", i, err)
	}
	return uid
}

func mustOpen(t testing.TB, dir string, ro bool, opts Options) *Mailbox {
	t.Helper()
	m, err := Open(dir, ro, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// uids lists the view's UIDs in sequence order.
func uids(t testing.TB, m *Mailbox) []uint32 {
	t.Helper()
	var out []uint32
	for seq := uint32(1); seq <= m.Count(); seq++ {
		msg, err := m.Message(seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		out = append(out, msg.UID)
	}
	return out
}

func flagsOf(t testing.TB, m *Mailbox, uid uint32) []string {
	t.Helper()
	seq, ok := m.SeqOf(uid)
	if !ok {
		t.Fatalf("UID %d not in view", uid)
	}
	msg, err := m.Message(seq)
	if err != nil {
		t.Fatal(err)
	}
	f := slices.Clone(msg.Flags)
	slices.Sort(f)
	return f
}
