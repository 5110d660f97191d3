package imapd

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"msgplex/store/mailbox"
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

// countFolder is a Folder of n messages whose UID is twice their
// sequence number; only Count and Message work.
type countFolder struct {
	Folder
	n uint32
}

func (f countFolder) Count() uint32 { return f.n }

func (f countFolder) Message(seq uint32) (mailbox.Message, error) {
	return mailbox.Message{Seq: seq, UID: 2 * seq}, nil
}

// Resolving "1:*" over ten million messages is one range, not a set of
// ten million numbers; overlapping and unordered parts come out sorted,
// merged and each number once.
func TestResolveRanges(t *testing.T) {
	s := &session{sel: countFolder{n: 10_000_000}}
	all := imap.SeqSet{{Start: 1, Stop: 0}}
	allocs := testing.AllocsPerRun(5, func() {
		if r, err := s.resolve(all); err != nil || len(r) != 1 || r[0] != (seqRange{1, 10_000_000}) {
			t.Fatalf("1:* = %v, %v", r, err)
		}
	})
	if allocs > 3 {
		t.Errorf("resolve(1:*) made %v allocations", allocs)
	}
	for _, c := range []struct {
		set  imap.NumSet
		want []seqRange
	}{
		{imap.SeqSet{{Start: 7, Stop: 9}, {Start: 1, Stop: 1}, {Start: 8, Stop: 12}, {Start: 2, Stop: 2}}, []seqRange{{1, 2}, {7, 12}}},
		{imap.SeqSet{{Start: 0, Stop: 9_999_999}}, []seqRange{{9_999_999, 10_000_000}}},
		{imap.SeqSet{{Start: 10_000_005, Stop: 10_000_009}}, nil},
		// UIDs are 2*seq: UID 5:* with the highest UID 20000000 is seq 3..end.
		{imap.UIDSet{{Start: 5, Stop: 0}}, []seqRange{{3, 10_000_000}}},
		// 30000000:* with a lower highest UID is "highest:30000000" (RFC 3501 §6.4.8).
		{imap.UIDSet{{Start: 30_000_000, Stop: 0}}, []seqRange{{10_000_000, 10_000_000}}},
		{imap.UIDSet{{Start: 1, Stop: 1}, {Start: 3, Stop: 3}}, nil},
		{imap.UIDSet{{Start: 4, Stop: 6}, {Start: 2, Stop: 4}}, []seqRange{{1, 3}}},
	} {
		got, err := s.resolve(c.set)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("resolve(%v) = %v, %v; want %v", c.set, got, err, c.want)
		}
	}
	empty := &session{sel: countFolder{}}
	if r, err := empty.resolve(all); err != nil || len(r) != 0 {
		t.Errorf("1:* on an empty folder = %v, %v", r, err)
	}
}

// INBOX is case-insensitive also as the start of a LIST pattern or
// reference, for INBOX itself and the folders below it.
func TestListInboxAnyCase(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	tc.do("A1 CREATE INBOX/sub", "A1 OK")
	tc.do("A2 CREATE inboxy", "A2 OK")
	for _, c := range []struct{ cmd, want, not string }{
		{`B1 LIST "" inbox`, `"/" INBOX`, "INBOX/sub"},
		{`B2 LIST "" inbox*`, `"/" "INBOX/sub"`, "Sent"},
		{`B3 LIST "" Inbox/%`, `"/" "INBOX/sub"`, `"/" INBOX` + "\n"},
		{`B4 LIST "inbox/" %`, `"/" "INBOX/sub"`, "inboxy"},
		{`B5 LIST "" inbox%`, `"/" INBOX`, "INBOX/sub"},
		{`B6 LIST "" inbox*`, `"/" INBOX`, "Sent"},
	} {
		tag, _, _ := strings.Cut(c.cmd, " ")
		out := tc.do(c.cmd, tag+" OK")
		if !strings.Contains(out, c.want) || strings.Contains(out, c.not) {
			t.Errorf("%s: want %q, not %q:\n%s", c.cmd, c.want, c.not, out)
		}
	}
}

// A FETCH that sets \Seen reports the new flags once, in its own FETCH
// response, not again as an unsolicited FETCH FLAGS after it.
func TestFetchSeenReportedOnce(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	appendRaw(t, tc, "INBOX", msg1)
	appendRaw(t, tc, "INBOX", msg1)
	tc.do("A1 SELECT INBOX", "A1 OK")
	out := tc.do("A2 FETCH 1:2 BODY[TEXT]", "A2 OK")
	if n := strings.Count(out, "* 1 FETCH"); n != 1 || !strings.Contains(out, `\Seen`) {
		t.Errorf("want one FETCH response for message 1 with \\Seen, got %d:\n%s", n, out)
	}
	out = tc.do("A3 NOOP", "A3 OK")
	if strings.Contains(out, "FETCH") {
		t.Errorf("NOOP repeats the flag change:\n%s", out)
	}
}
