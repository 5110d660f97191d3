package imapd

import (
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
