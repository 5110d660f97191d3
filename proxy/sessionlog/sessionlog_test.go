package sessionlog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func fixedNow() time.Time {
	return time.Date(2026, 2, 25, 9, 55, 57, 0, time.UTC)
}

func openTest(t *testing.T, format string) (*Logger, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "session.log")
	l, err := Open(Options{Path: p, Format: format, Hostname: "mmp1", PID: 7264, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, p
}

func readLines(t *testing.T, l *Logger, p string) []string {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestDesignFormat checks the exact lines of DESIGN.md.
func TestDesignFormat(t *testing.T) {
	l, p := openTest(t, "text")
	sid := uint64(0xfc1a14)
	l.Log(sid, Event{Kind: Start, Client: "10.32.254.3:4331", Server: "10.15.24.249:143"})
	l.Log(sid, Event{Kind: Login, User: "alice", MailHost: "store1.example.com:143"})
	l.Log(sid, Event{Kind: IOError, Side: "client", Errno: 104, ErrText: "connection reset by peer"})
	l.Log(sid, Event{Kind: Transfer, C2S: 1834, S2C: 5520330, Seconds: 34})
	l.Log(sid, Event{Kind: End})
	want := []string{
		"[25/Feb/2026:09:55:57 +0000] mmp1 msgplex-proxy[7264]: (sid 0xfc1a14) session start, client IP 10.32.254.3:4331, server IP 10.15.24.249:143",
		"[25/Feb/2026:09:55:57 +0000] mmp1 msgplex-proxy[7264]: (sid 0xfc1a14) login user alice, mailhost store1.example.com:143",
		"[25/Feb/2026:09:55:57 +0000] mmp1 msgplex-proxy[7264]: (sid 0xfc1a14) client socket IO error 104 (connection reset by peer)",
		"[25/Feb/2026:09:55:57 +0000] mmp1 msgplex-proxy[7264]: (sid 0xfc1a14) 1834 C->S bytes, 5520330 S->C bytes in 34 seconds",
		"[25/Feb/2026:09:55:57 +0000] mmp1 msgplex-proxy[7264]: (sid 0xfc1a14) session end",
	}
	got := readLines(t, l, p)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestJSON(t *testing.T) {
	l, p := openTest(t, "json")
	l.Log(0xabc, Event{Kind: Transfer, C2S: 1, S2C: 2, Seconds: 3})
	l.Log(0xabc, Event{Kind: Failed, User: "bob", Code: "AUTHENTICATIONFAILED", Reason: "bad password"})
	got := readLines(t, l, p)
	var rec map[string]any
	if err := json.Unmarshal([]byte(got[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["sid"] != "0xabc" || rec["event"] != "transfer" || rec["s2c"] != 2.0 || rec["host"] != "mmp1" ||
		rec["msg"] != "1 C->S bytes, 2 S->C bytes in 3 seconds" {
		t.Fatalf("json record %v", rec)
	}
	if !strings.Contains(got[0], `"msg":"1 C->S bytes`) {
		t.Fatalf("escaped msg: %s", got[0])
	}
	rec = nil
	if err := json.Unmarshal([]byte(got[1]), &rec); err != nil || rec["user"] != "bob" || rec["code"] != "AUTHENTICATIONFAILED" || rec["c2s"] != nil {
		t.Fatalf("json record %v %v", rec, err)
	}
}

func TestConcurrentLinesWhole(t *testing.T) {
	l, p := openTest(t, "text")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l.Log(uint64(g), Event{Kind: Login, User: fmt.Sprintf("user%d", i), MailHost: "h:143"})
			}
		}(g)
	}
	wg.Wait()
	got := readLines(t, l, p)
	if len(got) != 1600 {
		t.Fatalf("%d lines", len(got))
	}
	for _, line := range got {
		if !strings.HasPrefix(line, "[25/Feb/2026") || !strings.HasSuffix(line, "mailhost h:143") {
			t.Fatalf("torn line %q", line)
		}
	}
}

func TestReopen(t *testing.T) {
	l, p := openTest(t, "text")
	l.Log(1, Event{Kind: End})
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	l.Log(2, Event{Kind: End}) // buffered: lands in the old file
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Log(3, Event{Kind: End})
	got := readLines(t, l, p)
	old, _ := os.ReadFile(p + ".1")
	if len(got) != 1 || !strings.Contains(got[0], "(sid 0x3)") || strings.Count(string(old), "\n") != 2 {
		t.Fatalf("after reopen new=%q old=%q", got, old)
	}
}

func TestCleanHostile(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                  "alice",
		"*)(uid=*":               "*)(uid=*",
		"a\r\nb":                 `a\x0d\x0ab`,
		"a b":                    `a\x20b`,
		"\xff\xfe":               `\xff\xfe`,
		"":                       `""`,
		strings.Repeat("x", 500): strings.Repeat("x", 64) + "...",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadFormat(t *testing.T) {
	if _, err := Open(Options{Format: "xml"}); err == nil {
		t.Fatal("xml accepted")
	}
}
