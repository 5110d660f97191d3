package imapd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"msgplex/internal/e2e"
)

const msg1 = "From: \"Doe, John\" <john@example.com>\r\nTo: Team: alice@example.org, bob@example.org;\r\n" +
	"Subject: hello there\r\nDate: Fri, 4 May 2001 14:05:44 -0400\r\nMessage-ID: <m1@x>\r\n" +
	"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nfirst part body\r\n" +
	"--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--B--\r\n"

func appendRaw(t *testing.T, tc *tconn, folder, msg string) {
	t.Helper()
	tc.send(fmt.Sprintf("AP APPEND %s {%d+}", folder, len(msg)))
	tc.c.Write([]byte(msg + "\r\n"))
	tc.expect("AP OK")
}

func TestLoginSelectFetch(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.raw()
	tc.do("A0 LOGIN alice wrong", "A0 NO [AUTHENTICATIONFAILED]")
	tc.do("A1 LOGIN alice alicepw", "A1 OK")
	out := tc.do(`A2 LIST "" "*"`, "A2 OK")
	for _, want := range []string{`(\HasNoChildren) "/" INBOX`, `\Sent) "/" "Sent"`, `\Trash) "/" "Trash"`, `\Drafts`, `\Junk`, `\Archive`} {
		if !strings.Contains(out, want) {
			t.Errorf("LIST lacks %q:\n%s", want, out)
		}
	}
	appendRaw(t, tc, "INBOX", msg1)
	out = tc.do("A3 SELECT INBOX", "A3 OK [READ-WRITE]")
	if !strings.Contains(out, "* 1 EXISTS") || !strings.Contains(out, "* 1 RECENT") {
		t.Errorf("select:\n%s", out)
	}
	out = tc.do("A4 FETCH 1 (FLAGS ENVELOPE BODYSTRUCTURE)", "A4 OK")
	for _, want := range []string{`\Recent`, `(("Doe, John" NIL "john" "example.com"))`, `(NIL NIL "Team" NIL)`, `("alternative"`[:0], `"mixed" ("boundary" "B")`} {
		if !strings.Contains(out, want) {
			t.Errorf("fetch lacks %q:\n%s", want, out)
		}
	}
	out = tc.do("A5 FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[]<0.6> BINARY.PEEK[2] BINARY.SIZE[2])", "A5 OK")
	for _, want := range []string{"BODY[1] {15}", "first part body", "BODY[]<0> {6}", "From: ", "BINARY[2] ~{5}", "hello", "BINARY.SIZE[2] 5"} {
		if !strings.Contains(out, want) {
			t.Errorf("fetch lacks %q:\n%s", want, out)
		}
	}
	out = tc.do("A6 FETCH 1 (FLAGS)", "A6 OK")
	if strings.Contains(out, `\Seen`) {
		t.Errorf("PEEK set \\Seen: %s", out)
	}
	out = tc.do("A7 FETCH 1 BODY[TEXT]", "A7 OK")
	if !strings.Contains(out, `\Seen`) {
		t.Errorf("BODY[] did not set \\Seen: %s", out)
	}
	// Past the end: OK with nothing (the library's answer).
	out = tc.do("A8 FETCH 5 FLAGS", "A8 OK")
	if strings.Contains(out, "* 5 FETCH") {
		t.Errorf("fetch past end: %s", out)
	}
}

func TestExamineReadOnly(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	appendRaw(t, tc, "INBOX", msg1)
	tc.do("A1 EXAMINE INBOX", "A1 OK [READ-ONLY]")
	tc.do(`A2 STORE 1 +FLAGS (\Deleted)`, "A2 NO")
	tc.do("A3 EXPUNGE", "A3 NO")
	tc.do("A4 MOVE 1 Trash", "A4 NO")
	out := tc.do("A5 FETCH 1 BODY[]", "A5 OK")
	if strings.Contains(out, `\Seen`) {
		t.Errorf("EXAMINE set \\Seen: %s", out)
	}
	tc.do("A6 CLOSE", "A6 OK")
	tc.do("A7 SELECT INBOX", "A7 OK")
	out = tc.do("A8 FETCH 1 FLAGS", "A8 OK")
	if strings.Contains(out, `\Seen`) || !strings.Contains(out, "* 1 FETCH") {
		t.Errorf("after EXAMINE: %s", out)
	}
	// CLOSE after SELECT expunges.
	tc.do(`A9 STORE 1 +FLAGS.SILENT (\deleted)`, "A9 OK")
	tc.do("B1 CLOSE", "B1 OK")
	out = tc.do("B2 STATUS INBOX (MESSAGES)", "B2 OK")
	if !strings.Contains(out, "(MESSAGES 0)") {
		t.Errorf("CLOSE did not expunge: %s", out)
	}
}

func TestFlagCaseAndRecent(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	appendRaw(t, tc, "INBOX", msg1)
	tc.do("A1 SELECT INBOX", "A1 OK")
	out := tc.do(`A2 STORE 1 FLAGS (\seen \FLAGGED $Label1 \recent)`, "A2 OK")
	if !strings.Contains(out, `\Seen`) || !strings.Contains(out, `\Flagged`) || !strings.Contains(out, "$Label1") {
		t.Errorf("flags not canonical: %s", out)
	}
	if strings.Contains(out, `\seen`) || strings.Contains(out, `\FLAGGED`) {
		t.Errorf("flags not canonical: %s", out)
	}
	out = tc.do("A3 SEARCH RECENT", "A3 OK")
	if !strings.Contains(out, "* SEARCH 1") {
		t.Errorf("recent: %s", out)
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	appendRaw(t, tc, "INBOX", msg1)
	appendRaw(t, tc, "INBOX", "From: Carol <carol@other.net>\r\nTo: dave@x.y\r\nSubject: other\r\nX-Custom: magic\r\n\r\nneedle in body\r\n")
	tc.do("A1 SELECT INBOX", "A1 OK")
	for q, want := range map[string]string{
		"FROM john@example":         "* SEARCH 1",
		"FROM Carol":                "* SEARCH 2",
		"TO bob@example.org":        "* SEARCH 1",
		"FROM example.com":          "* SEARCH 1",
		"SUBJECT HELLO":             "* SEARCH 1",
		"BODY needle":               "* SEARCH 2",
		"TEXT \"first part\"":       "* SEARCH 1",
		"HEADER X-Custom magic":     "* SEARCH 2",
		"NOT FROM carol":            "* SEARCH 1",
		"OR FROM carol SUBJECT hel": "* SEARCH 1 2",
		"LARGER 200":                "* SEARCH 1",
		"UID 2:*":                   "* SEARCH 2",
		"SENTBEFORE 1-Jan-2002":     "* SEARCH 1",
		"UNSEEN":                    "* SEARCH 1 2",
		"TO nobody":                 "* SEARCH",
	} {
		out := tc.do("S SEARCH "+q, "S OK")
		lines := strings.Split(out, "\n")
		if lines[0] != want {
			t.Errorf("SEARCH %s: got %q, want %q", q, lines[0], want)
		}
	}
	out := tc.do("S2 SEARCH RETURN (MIN MAX COUNT) ALL", "S2 OK")
	if !strings.Contains(out, "MIN 1 MAX 2 COUNT 2") {
		t.Errorf("esearch: %s", out)
	}
	// SEARCHRES: "$" is the saved result, for sequence and UID sets.
	tc.do("S3 UID SEARCH RETURN (SAVE) FROM carol", "S3 OK")
	for _, cmd := range []string{"S4 FETCH $ (UID)", "S5 UID FETCH $ (UID)"} {
		out := tc.do(cmd, cmd[:2]+" OK")
		if !strings.Contains(out, "* 2 FETCH (UID 2)") || strings.Contains(out, "* 1 FETCH") {
			t.Errorf("%s: %s", cmd, out)
		}
	}
}

func TestListAndLsub(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	tc.do("A1 CREATE work/projects/x", "A1 OK")
	tc.do("A2 SUBSCRIBE work/projects/x", "A2 OK")
	tc.do("A3 SUBSCRIBE gone", "A3 OK")
	out := tc.do(`A4 LIST "" "work/%"`, "A4 OK")
	if !strings.Contains(out, `* LIST (\Noselect \HasChildren) "/" "work/projects"`) {
		t.Errorf("list parent: %s", out)
	}
	out = tc.do(`A5 LIST "" "work/projects/x"`, "A5 OK")
	if !strings.Contains(out, `(\HasNoChildren) "/" "work/projects/x"`) {
		t.Errorf("list leaf: %s", out)
	}
	out = tc.do(`A6 LSUB "" "work/%"`, "A6 OK")
	if !strings.Contains(out, `* LSUB (\Noselect \HasChildren) "/" "work/projects"`) {
		t.Errorf("lsub parent: %s", out)
	}
	out = tc.do(`A7 LIST (SUBSCRIBED) "" "*"`, "A7 OK")
	if !strings.Contains(out, `\NonExistent`) || !strings.Contains(out, "gone") {
		t.Errorf("list subscribed: %s", out)
	}
	out = tc.do(`A8 LIST "" "%" RETURN (STATUS (MESSAGES SIZE))`, "A8 OK")
	if !strings.Contains(out, `* STATUS INBOX (MESSAGES 0 SIZE 0)`) {
		t.Errorf("list-status: %s", out)
	}
	out = tc.do(`A9 LIST (SPECIAL-USE) "" "*"`, "A9 OK")
	if strings.Contains(out, "INBOX") || !strings.Contains(out, `\Trash`) {
		t.Errorf("special-use: %s", out)
	}
}

func TestHostileNames(t *testing.T) {
	e := newEnv(t, nil)
	tc := e.login("alice")
	for i, name := range []string{`"../x"`, `"a/../../b"`, `"/etc"`, `"x/"`, `"a//b"`, `"."`} {
		out := tc.do(fmt.Sprintf("H%d CREATE %s", i, name), fmt.Sprintf("H%d NO", i))
		if !strings.Contains(out, "Invalid mailbox name") {
			t.Errorf("CREATE %s: %s", name, out)
		}
	}
	tc.do(`H9 SELECT "../../alice"`, "H9 NO")
}

func TestHugeLiteralRefused(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AppendLimit = 1 << 20 })
	tc := e.login("alice")
	tc.send("A1 APPEND INBOX {2000000}")
	tc.expect("A1 NO")
	tc.do("A2 NOOP", "A2 OK")
}

func TestCopyMoveUIDPlus(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client("alice", "alicepw")
	for range 3 {
		cmd := c.Append("INBOX", int64(len(msg1)), nil)
		cmd.Write([]byte(msg1))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(1), "INBOX").Wait()
	if err != nil || cd.UIDValidity == 0 || cd.DestUIDs.String() != "4" {
		t.Fatalf("copy into self: %+v %v", cd, err)
	}
	md, err := c.Move(imap.SeqSetNum(1, 2), "Archive").Wait()
	if err != nil || md.SourceUIDs.String() != "1:2" {
		t.Fatalf("move: %+v %v", md, err)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Fatalf("archive status %+v %v", st, err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Fatalf("INBOX has %d after MOVE, want 2 (each EXPUNGE once)", n)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nope").Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Fatalf("copy to missing folder: %v", err)
	}
}

func TestIdleWakeup(t *testing.T) {
	e := newEnv(t, nil)
	a := e.login("alice")
	a.do("A1 SELECT INBOX", "A1 OK")
	a.send("A2 IDLE")
	a.expect("+ ")
	b := e.login("alice")
	appendRaw(t, b, "INBOX", msg1)
	a.expect("* 1 EXISTS")
	b.do("B1 SELECT INBOX", "B1 OK")
	b.do(`B2 STORE 1 +FLAGS (\Flagged)`, "B2 OK")
	a.expect("* 1 FETCH")
	b.do(`B3 STORE 1 +FLAGS.SILENT (\Deleted)`, "B3 OK")
	b.do("B4 EXPUNGE", "B4 OK")
	a.expect("* 1 EXPUNGE")
	a.send("DONE")
	a.expect("A2 OK")
}

func TestAdminLogin(t *testing.T) {
	e := newEnv(t, nil)
	c, err := imapclient.DialInsecure(e.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("bob", "msgplex-admin", adminPW)); err != nil {
		t.Fatalf("admin login from trusted: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logs.String(), "user=bob") {
		t.Errorf("log lacks user: %s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), adminPW) {
		t.Fatal("password in log")
	}
	// Wrong admin password.
	c2, _ := imapclient.DialInsecure(e.addr, nil)
	defer c2.Close()
	if err := c2.Authenticate(sasl.NewPlainClient("bob", "msgplex-admin", "bad")); err == nil {
		t.Fatal("bad admin password accepted")
	}
	// Untrusted peer: no trusted proxies, plaintext allowed.
	u := newEnv(t, func(o *Options) { o.TrustedProxies = nil; o.AllowPlaintext = true })
	c3, _ := imapclient.DialInsecure(u.addr, nil)
	defer c3.Close()
	if err := c3.Authenticate(sasl.NewPlainClient("bob", "msgplex-admin", adminPW)); err == nil {
		t.Fatal("admin login accepted from untrusted peer")
	}
	// A user's own PLAIN login still works there.
	if err := c3.Authenticate(sasl.NewPlainClient("", "bob", "bobpw")); err != nil {
		t.Fatalf("user PLAIN: %v", err)
	}
	if s := u.srv.Stats(); s.GoodLogins != 1 || s.FailedLogins != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestTrustDecisions(t *testing.T) {
	srv, err := New(Options{Backend: StoreBackend(nil), TrustedProxies: []string{"10.1.0.0/16", "192.0.2.7"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, tc := range []struct {
		addr           string
		trusted, plain bool
	}{
		{"127.0.0.1:5", false, true},
		{"[::1]:5", false, true},
		{"10.1.2.3:5", true, true},
		{"[::ffff:10.1.2.3]:5", true, true},
		{"192.0.2.7:1", true, true},
		{"192.0.2.8:1", false, false},
		{"203.0.113.9:143", false, false},
	} {
		if got := srv.Trusted(addr(tc.addr)); got != tc.trusted {
			t.Errorf("Trusted(%s) = %v", tc.addr, got)
		}
		if got := srv.PlaintextAllowed(addr(tc.addr)); got != tc.plain {
			t.Errorf("PlaintextAllowed(%s) = %v", tc.addr, got)
		}
	}
	open, _ := New(Options{Backend: StoreBackend(nil), AllowPlaintext: true})
	defer open.Close()
	if !open.PlaintextAllowed(addr("203.0.113.9:143")) {
		t.Error("allowplaintext ignored")
	}
	if _, err := New(Options{Backend: StoreBackend(nil), TrustedProxies: []string{"nonsense"}}); err == nil {
		t.Error("bad prefix accepted")
	}
}

func TestPlaintextRefused(t *testing.T) {
	// Loopback is normally allowed; make the strict server the only path
	// by pushing a connection to it directly.
	e := newEnv(t, nil)
	cl, sv := net.Pipe()
	go e.srv.strictLn.push(&peerConn{Conn: sv, peer: &net.TCPAddr{IP: net.ParseIP("203.0.113.9"), Port: 1}})
	tc := &tconn{t: t, c: cl}
	tc.br = newReader(cl)
	out := strings.Join(tc.expect("* OK"), "\n")
	if !strings.Contains(out, "LOGINDISABLED") {
		t.Errorf("greeting: %s", out)
	}
	tc.do("A1 LOGIN alice alicepw", "A1 NO")
	tc.do("A2 AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlcHc=", "A2 NO")
}

func TestProxyHeader(t *testing.T) {
	e := newEnv(t, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "PROXY TCP4 198.51.100.7 127.0.0.1 40000 143\r\n")
	tc := &tconn{t: t, c: c, br: newReader(c)}
	tc.expect("* OK")
	tc.do("A1 LOGIN alice wrong", "A1 NO")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "198.51.100.7:40000") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(e.logs.String(), "client=198.51.100.7:40000") {
		t.Errorf("log lacks forwarded client: %s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), "wrong") {
		t.Error("password in log")
	}
}

func TestMIMECorpusBodyStructure(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client("alice", "alicepw")
	corpus := e2e.MIMECorpus(t)
	ents, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range ents {
		b := readTestdata(t, filepath.Join(corpus, ent.Name()))
		cmd := c.Append("INBOX", int64(len(b)), nil)
		cmd.Write(b)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v", ent.Name(), err)
		}
		n++
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("fetched %d of %d", len(msgs), n)
	}
	for i, m := range msgs {
		want := readTestdata(t, filepath.Join(corpus, ents[i].Name()))
		var got []byte
		for _, v := range m.BodySection {
			got = v.Bytes
		}
		if string(got) != string(want) || m.BodyStructure == nil || m.Envelope == nil {
			t.Errorf("%s: body %d bytes (want %d), bs %v", ents[i].Name(), len(got), len(want), m.BodyStructure != nil)
		}
	}
}
