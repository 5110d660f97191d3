package imapd

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// An APPEND from another session must not claim the \Recent state of
// messages the selected session has not seen yet (RFC 3501 §2.3.2: the
// first session to be notified of a message gets \Recent).
func TestAppendDoesNotStealRecent(t *testing.T) {
	e := newEnv(t, nil)
	a := e.login("alice")
	b := e.login("alice")
	a.do("A1 SELECT INBOX", "A1 OK")
	appendRaw(t, b, "INBOX", msg1)
	appendRaw(t, b, "INBOX", msg1)
	out := a.do("A2 NOOP", "A2 OK")
	if !strings.Contains(out, "* 2 EXISTS") || !strings.Contains(out, "* 2 RECENT") {
		t.Errorf("want 2 EXISTS and 2 RECENT:\n%s", out)
	}
	out = a.do("A3 SEARCH RECENT", "A3 OK")
	if !strings.Contains(out, "* SEARCH 1 2") {
		t.Errorf("SEARCH RECENT:\n%s", out)
	}
}

// STORE answers with the flags the message has after the change, also
// when another session's EXPUNGE replaced the index and this session has
// not been told yet (its view still reads the old file).
func TestStoreAnswerAfterForeignExpunge(t *testing.T) {
	e := newEnv(t, nil)
	a := e.login("alice")
	b := e.login("alice")
	for range 3 {
		appendRaw(t, a, "INBOX", msg1)
	}
	a.do("A1 SELECT INBOX", "A1 OK")
	b.do("B1 SELECT INBOX", "B1 OK")
	b.do(`B2 STORE 1 +FLAGS.SILENT (\Deleted)`, "B2 OK")
	b.do("B3 EXPUNGE", "B3 OK")
	out := a.do(`A2 STORE 3 +FLAGS (\Flagged)`, "A2 OK")
	if !strings.Contains(out, "* 3 FETCH") || !strings.Contains(out, `\Flagged`) {
		t.Errorf("STORE answer lacks the new flag:\n%s", out)
	}
	if strings.Contains(out, "EXPUNGE") {
		t.Errorf("EXPUNGE during STORE:\n%s", out)
	}
	out = a.do("A3 FETCH 3 FLAGS", "A3 OK")
	if !strings.Contains(out, `\Flagged`) {
		t.Errorf("FETCH after STORE lacks the new flag:\n%s", out)
	}
	out = a.do("A4 NOOP", "A4 OK")
	if !strings.Contains(out, "* 1 EXPUNGE") || strings.Count(out, "EXPUNGE") != 1 {
		t.Errorf("NOOP should report one EXPUNGE:\n%s", out)
	}
	out = a.do("A5 FETCH 2 FLAGS", "A5 OK")
	if !strings.Contains(out, `\Flagged`) {
		t.Errorf("after the expunge, message 2 lacks its flag:\n%s", out)
	}
}

// APPEND on a full disk answers NO [OVERQUOTA] (not SERVERBUG), stores
// nothing, and the folder stays usable.
func TestAppendDiskFull(t *testing.T) {
	root := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", root).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", root).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	e := newEnvAt(t, root, 0, nil)
	tc := e.login("alice")
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcde\n", 5<<16) // 5 MiB
	tc.send(fmt.Sprintf("A1 APPEND INBOX {%d+}", len(big)))
	tc.c.Write([]byte(big + "\r\n"))
	tc.expect("A1 NO [OVERQUOTA]")
	appendRaw(t, tc, "INBOX", msg1)
	out := tc.do("A2 SELECT INBOX", "A2 OK")
	if !strings.Contains(out, "* 1 EXISTS") || !strings.Contains(out, "[UIDNEXT 2]") {
		t.Errorf("after the failed APPEND:\n%s", out)
	}
	tc.do("A3 LOGOUT", "A3 OK")
}
