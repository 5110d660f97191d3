package test

// End-to-end tests of the proxy: the built binary (msgplex proxy and
// msgplex store, or Dovecot) with go-imap's imapclient, real slapd, real
// sockets. Every wait is bounded; nothing asserts on speed.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"msgplex/config"
	"msgplex/counters"
	"msgplex/directory/dirconfig"
	"msgplex/internal/e2e"
	"msgplex/internal/splicerelay"
	"msgplex/internal/testslapd"
	"msgplex/proxy"
	"msgplex/proxy/backend/fakestore"
	"msgplex/proxy/sessionlog"
)

// pxWait bounds every wait in these tests.
const pxWait = 30 * time.Second

// pxProxy is a running `msgplex proxy`.
type pxProxy struct {
	t    testing.TB
	Addr string
	cfg  string
	logp string
	proc *e2e.Proc
}

// startPxProxy starts the proxy binary with a directory section and extra
// [proxy] keys.
func startPxProxy(t *testing.T, dirSection, proxyExtra string) *pxProxy {
	return startPxProxyTB(t, dirSection, proxyExtra)
}

func startPxProxyTB(t testing.TB, dirSection, proxyExtra string) *pxProxy {
	t.Helper()
	dir := t.TempDir()
	p := &pxProxy{t: t, Addr: e2e.FreeAddr(t), logp: filepath.Join(dir, "session.log")}
	keys := []string{
		fmt.Sprintf("listen = %q", p.Addr),
		`tlslisten = ""`,
		`hostname = "mmp1"`,
		fmt.Sprintf("statedir = %q", filepath.Join(dir, "state")),
		fmt.Sprintf("sessionlog = %q", p.logp),
		"allowplaintext = true",
		"sendproxyprotocol = true",
		`storeadmin.user = "msgplex-admin"`,
		`storeadmin.password = "adminpw"`,
		`backendtimeout = "5s"`,
		`faildelay = "0s"`,
	}
	text := "[directory]\n" + dirSection + "\n[proxy]\n" + pxMergeKeys(keys, proxyExtra)
	p.cfg = filepath.Join(dir, "proxy.toml")
	if err := os.WriteFile(p.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p.proc = e2e.Start(t, p.Addr, p.cfg, "proxy", "--config", p.cfg)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(p.logp)
			t.Logf("--- session log:\n%s", b)
		}
	})
	return p
}

// pxMergeKeys returns the TOML lines of keys with extra's keys replacing
// those of the same name.
func pxMergeKeys(keys []string, extra string) string {
	out := map[string]string{}
	var order []string
	for _, l := range append(keys, strings.Split(extra, "\n")...) {
		k, _, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, seen := out[k]; !seen {
			order = append(order, k)
		}
		out[k] = l
	}
	var b strings.Builder
	for _, k := range order {
		b.WriteString(out[k] + "\n")
	}
	return b.String()
}

// sessionOf returns the "(sid 0x…)" of the first session whose log has a
// line containing what.
func (p *pxProxy) sessionOf(what string) string {
	p.t.Helper()
	log := p.waitLog(what)
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, what) {
			i, j := strings.Index(l, "(sid "), strings.Index(l, ")")
			if i >= 0 && j > i {
				return l[i : j+1]
			}
		}
	}
	p.t.Fatalf("no session with %q", what)
	return ""
}

// sessionLines returns the lines of one session.
func (p *pxProxy) sessionLines(sid string) string {
	b, _ := os.ReadFile(p.logp)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sid) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func ldifSection(path string) string {
	return fmt.Sprintf("url = %q\ncachettl = \"0s\"", "ldif:"+path)
}

// waitLog waits until the session log holds every want (each may be on
// another line) and returns it.
func (p *pxProxy) waitLog(want ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(pxWait)
	for {
		b, _ := os.ReadFile(p.logp)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(string(b), w)
		}
		if ok {
			return string(b)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("session log lacks %q:\n%s", want, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pxLogin(t *testing.T, addr, user, pw string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatalf("login %s at %s: %v", user, addr, err)
	}
	return c
}

// pxStartTLSLogin logs in at the proxy after STARTTLS.
func pxStartTLSLogin(t *testing.T, addr, user, pw string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	c, err := imapclient.DialStartTLS(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatalf("login %s at %s: %v", user, addr, err)
	}
	return c
}

func pxMessage(subject string, bodySize int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: tester@example.com\r\nTo: user@example.com\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n\r\n", subject, strings.ReplaceAll(subject, " ", "."))
	line := strings.Repeat("0123456789", 7) + "\r\n"
	for b.Len() < bodySize {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func pxAppend(t *testing.T, c *imapclient.Client, msg []byte) {
	t.Helper()
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
}

func pxSubjects(t *testing.T, c *imapclient.Client) []string {
	t.Helper()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(all, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	var out []string
	for _, m := range msgs {
		if m.Envelope != nil {
			out = append(out, m.Envelope.Subject)
		}
	}
	return out
}

// twoStores starts two stores sharing one LDIF: alice on the first, bob on
// the second, dead-store user dave on a closed port.
type twoStores struct {
	s1, s2 *e2e.Proc
	ldif   string
	dead   string
}

func startTwoStores(t *testing.T) *twoStores {
	t.Helper()
	ts := &twoStores{}
	l1, l2 := e2e.FreeAddr(t), e2e.FreeAddr(t)
	ts.dead = e2e.FreeAddr(t)
	dir := t.TempDir()
	ts.ldif = e2e.WriteLDIF(t, dir,
		e2e.User{UID: "alice", Password: "alicepw", MailHost: l1},
		e2e.User{UID: "bob", Password: "bobpw", MailHost: l2},
		e2e.User{UID: "dave", Password: "davepw", MailHost: ts.dead},
		e2e.User{UID: "holly", Password: "hollypw", MailHost: l1, Status: "hold"},
		e2e.User{UID: "dora", Password: "dorapw", MailHost: l1, Status: "disabled"},
	)
	ts.s1 = e2e.StartStore(t, e2e.StoreConfig{DataRoot: filepath.Join(dir, "s1"), LDIF: ts.ldif, Listen: l1})
	ts.s2 = e2e.StartStore(t, e2e.StoreConfig{DataRoot: filepath.Join(dir, "s2"), LDIF: ts.ldif, Listen: l2})
	return ts
}

// TestProxyTwoStores: each user lands on their own store; SELECT, APPEND,
// FETCH and IDLE work across the splice; the session log and the
// counters say so.
func TestProxyTwoStores(t *testing.T) {
	ts := startTwoStores(t)
	tlsAddr := e2e.FreeAddr(t)
	px := startPxProxy(t, ldifSection(ts.ldif), fmt.Sprintf("tlslisten = %q\nallowplaintext = false", tlsAddr))

	// Plain-text LOGIN is refused before STARTTLS; with STARTTLS and on
	// the implicit-TLS port (the quickstart's self-signed certificate)
	// users log in.
	raw := pxRaw(t, px.Addr)
	raw.greeting()
	raw.do("p1 LOGIN alice alicepw", "p1 NO [PRIVACYREQUIRED]")
	tlsOpts := &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	for _, dial := range []func() (*imapclient.Client, error){
		func() (*imapclient.Client, error) { return imapclient.DialStartTLS(px.Addr, tlsOpts) },
		func() (*imapclient.Client, error) { return imapclient.DialTLS(tlsAddr, tlsOpts) },
	} {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login("bob", "bobpw").Wait(); err != nil {
			t.Fatalf("login over TLS: %v", err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		c.Logout().Wait()
		c.Close()
	}

	alice := pxStartTLSLogin(t, px.Addr, "alice", "alicepw", nil)
	bob := pxStartTLSLogin(t, px.Addr, "bob", "bobpw", nil)
	pxAppend(t, alice, pxMessage("for alice", 2000))
	pxAppend(t, bob, pxMessage("for bob", 2000))

	// Directly at each store (store-admin login not needed: users log in
	// with their password from loopback): alice's mail is on store 1 only.
	if got := pxSubjects(t, pxLogin(t, ts.s1.Addr, "alice", "alicepw", nil)); len(got) != 1 || got[0] != "for alice" {
		t.Fatalf("store 1 alice: %q", got)
	}
	if got := pxSubjects(t, pxLogin(t, ts.s2.Addr, "alice", "alicepw", nil)); len(got) != 0 {
		t.Fatalf("store 2 has alice's mail: %q", got)
	}
	if got := pxSubjects(t, pxLogin(t, ts.s2.Addr, "bob", "bobpw", nil)); len(got) != 1 || got[0] != "for bob" {
		t.Fatalf("store 2 bob: %q", got)
	}

	// FETCH of a body through the proxy, byte for byte.
	big := pxMessage("big one", 300<<10)
	pxAppend(t, alice, big)
	if _, err := alice.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := alice.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %d", err, len(msgs))
	}
	for _, body := range msgs[0].BodySection {
		if string(body.Bytes) != string(big) {
			t.Fatalf("body differs: %d bytes, want %d", len(body.Bytes), len(big))
		}
	}

	// IDLE across the splice: a second session's APPEND is announced.
	exists := make(chan uint32, 10)
	idler := pxStartTLSLogin(t, px.Addr, "alice", "alicepw", &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	}})
	if _, err := idler.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := idler.Idle()
	if err != nil {
		t.Fatal(err)
	}
	pxAppend(t, alice, pxMessage("while idling", 500))
	deadline := time.After(pxWait)
	for got := uint32(0); got < 3; {
		select {
		case got = <-exists:
		case <-deadline:
			t.Fatal("no EXISTS during IDLE through the proxy")
		}
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	alice.Close()
	log := px.waitLog("login user alice, mailhost "+ts.s1.Addr, "login user bob, mailhost "+ts.s2.Addr, "S->C bytes in", "session end")
	if strings.Contains(log, "alicepw") || strings.Contains(log, "adminpw") {
		t.Fatal("password in the session log")
	}

	// counterutil reads the running proxy's counters.
	var out string
	for i := 0; ; i++ {
		out, err = e2e.Run(t, "counterutil", "--config", px.cfg, "-o", "imapstat")
		if err == nil && !strings.Contains(out, "global.numgoodlogins              0") {
			break
		}
		if i > 100 {
			t.Fatalf("counterutil: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range []string{"global.currentstarttime", "global.numconnections", "global.numcurrentconnections", "global.numgoodlogins", "global.maxconnections"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("counterutil lacks %s:\n%s", name, out)
		}
	}
}

// TestProxyRefusals: store down at login, status refusals, bad password.
func TestProxyRefusals(t *testing.T) {
	ts := startTwoStores(t)
	px := startPxProxy(t, ldifSection(ts.ldif), "")
	c := pxRaw(t, px.Addr)
	c.greeting()
	lines := c.do("a1 LOGIN dave davepw", "a1 NO [UNAVAILABLE]")
	if !strings.HasPrefix(lines[0], "* OK [ALERT] ") {
		t.Fatalf("no alert: %q", lines)
	}
	px.waitLog("login failed user dave [UNAVAILABLE]: store down at " + ts.dead + ": connect: connection refused, mailhost " + ts.dead)
	c.do("a2 LOGIN holly hollypw", "a2 NO [UNAVAILABLE]")
	c.do("a3 LOGIN dora dorapw", "a3 NO [AUTHORIZATIONFAILED]")
	px.waitLog("login failed user holly [UNAVAILABLE]: account on hold", "login failed user dora [AUTHORIZATIONFAILED]: account disabled")
	d := pxRaw(t, px.Addr)
	d.greeting()
	d.do("b1 LOGIN alice wrong", "b1 NO [AUTHENTICATIONFAILED]")
	px.waitLog("login failed user alice [AUTHENTICATIONFAILED]")
}

// pxConn is a raw IMAP connection.
type pxConn struct {
	t *testing.T
	c *net.TCPConn
	r *bufio.Reader
}

func pxRaw(t *testing.T, addr string) *pxConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(pxWait))
	return &pxConn{t: t, c: c.(*net.TCPConn), r: bufio.NewReader(c)}
}

func (c *pxConn) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (%q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *pxConn) greeting() {
	c.t.Helper()
	if g := c.line(); !strings.HasPrefix(g, "* OK") {
		c.t.Fatalf("greeting %q", g)
	}
}

func (c *pxConn) do(cmd, want string) []string {
	c.t.Helper()
	if _, err := c.c.Write([]byte(cmd + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
	tag := strings.Fields(cmd)[0]
	var lines []string
	for i := 0; i < 100000; i++ {
		l := c.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, want) {
				c.t.Fatalf("%s: got %q, want %q", cmd, l, want)
			}
			return lines
		}
	}
	c.t.Fatal("no tagged response")
	return nil
}

// TestProxyClientResetMidFetch: the client resets during a large FETCH;
// the log blames the client with errno 104.
func TestProxyClientResetMidFetch(t *testing.T) {
	ts := startTwoStores(t)
	px := startPxProxy(t, ldifSection(ts.ldif), "")
	a := pxLogin(t, ts.s1.Addr, "alice", "alicepw", nil)
	pxAppend(t, a, pxMessage("huge", 8<<20))
	c := pxRaw(t, px.Addr)
	c.greeting()
	c.do("a1 LOGIN alice alicepw", "a1 OK")
	c.do("a2 SELECT INBOX", "a2 OK")
	c.c.Write([]byte("a3 FETCH 1 BODY[]\r\n"))
	if l := c.line(); !strings.Contains(l, "FETCH") {
		t.Fatalf("fetch: %q", l)
	}
	if _, err := io.CopyN(io.Discard, c.r, 64<<10); err != nil {
		t.Fatal(err)
	}
	c.c.SetLinger(0)
	c.c.Close()
	sid := px.sessionOf("login user alice")
	px.waitLog(sid+" client socket IO error 104 (connection reset by peer)", sid+" session end")
	if log := px.sessionLines(sid); strings.Contains(log, "server socket IO error") {
		t.Fatalf("server blamed:\n%s", log)
	}
}

// TestProxyStoreKilled: the store dies mid-session; the log says the
// server side ended the session.
func TestProxyStoreKilled(t *testing.T) {
	ts := startTwoStores(t)
	px := startPxProxy(t, ldifSection(ts.ldif), "")
	c := pxRaw(t, px.Addr)
	c.greeting()
	c.do("a1 LOGIN bob bobpw", "a1 OK")
	c.do("a2 SELECT INBOX", "a2 OK")
	ts.s2.Kill()
	// The client notices: the proxy passes the store's end on.
	c.c.Write([]byte("a3 NOOP\r\n"))
	for i := 0; i < 1000; i++ {
		if _, err := c.r.ReadString('\n'); err != nil {
			break
		}
	}
	c.c.Close() // as a client does when its server hangs up
	sid := px.sessionOf("login user bob")
	px.waitLog(sid + " session end")
	log := px.sessionLines(sid)
	if !strings.Contains(log, "server socket IO error") && !strings.Contains(log, "server socket closed by peer") {
		t.Fatalf("log does not name the server side:\n%s", log)
	}
	if strings.Contains(log, "client socket IO error") {
		t.Fatalf("client blamed:\n%s", log)
	}
}

// TestProxyConnLimits: a third connection from one address is refused
// with BYE and logged.
func TestProxyConnLimits(t *testing.T) {
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "alice", Password: "alicepw", MailHost: e2e.FreeAddr(t)})
	px := startPxProxy(t, ldifSection(ldif), "connlimits = 2")
	// e2e.Start's own probe connection may still count until the proxy
	// sees it closed: retry (bounded) until two connections are greeted.
	for i := 0; ; i++ {
		a, b := pxRaw(t, px.Addr), pxRaw(t, px.Addr)
		la, lb := a.line(), b.line()
		if strings.HasPrefix(la, "* OK") && strings.HasPrefix(lb, "* OK") {
			break
		}
		a.c.Close()
		b.c.Close()
		if i > 100 {
			t.Fatalf("two connections not greeted: %q %q", la, lb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := pxRaw(t, px.Addr)
	if l := c.line(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
		t.Fatalf("third connection: %q", l)
	}
	px.waitLog("connection refused, client IP 127.0.0.1:", "(proxy.connlimits)")
}

// TestProxyFailDelay: with a fail delay the proxy still answers, counts
// the failures once per distinct password, and logs each failure.
func TestProxyFailDelay(t *testing.T) {
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "alice", Password: "alicepw", MailHost: e2e.FreeAddr(t)})
	px := startPxProxy(t, ldifSection(ldif), "faildelay = \"50ms\"\nfaildelaymax = \"200ms\"\nmaxauthfailures = 5")
	c := pxRaw(t, px.Addr)
	c.greeting()
	for i := 1; i <= 4; i++ {
		c.do(fmt.Sprintf("a%d LOGIN alice wrong%d", i, i), fmt.Sprintf("a%d NO [AUTHENTICATIONFAILED]", i))
	}
	log := px.waitLog("session start")
	for i := 0; i < 100 && strings.Count(log, "[AUTHENTICATIONFAILED]") < 4; i++ {
		time.Sleep(50 * time.Millisecond)
		log = px.waitLog("session start")
	}
	if n := strings.Count(log, "login failed user alice [AUTHENTICATIONFAILED]"); n != 4 {
		t.Fatalf("%d failure lines:\n%s", n, log)
	}
}

// ldapUsersLDIF holds alice with her store and hostile-name bait.
func ldapUsersLDIF(mailHost string) string {
	return fmt.Sprintf(`dn: uid=alice,ou=people,dc=example,dc=com
objectClass: top
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: alice
cn: alice
sn: alice
mail: alice@example.com
userPassword: alicepw
mailHost: %s
`, mailHost)
}

func ldapSection(urls string) string {
	return fmt.Sprintf(`url = %q
basedn = %q
binddn = %q
bindpassword = %q
timeout = "2s"
cachettl = "0s"`, urls, testslapd.BaseDN, testslapd.AdminDN, testslapd.AdminPassword)
}

// TestProxyLDAPFailoverAndHostileNames: the first LDAP server is down;
// logins go to the second. Hostile user names are refused as bad
// credentials (escaped filters match nobody), never logged raw.
func TestProxyLDAPFailoverAndHostileNames(t *testing.T) {
	dir := t.TempDir()
	store := e2e.StartStore(t, e2e.StoreConfig{DataRoot: filepath.Join(dir, "s"), LDIF: e2e.WriteLDIF(t, dir, e2e.User{UID: "alice", Password: "alicepw"})})
	ldap := testslapd.Start(t, ldapUsersLDIF(store.Addr))
	dead := e2e.FreeAddr(t)
	px := startPxProxy(t, ldapSection("ldap://"+dead+" "+ldap.URL), "maxauthfailures = 10")
	c := pxLogin(t, px.Addr, "alice", "alicepw", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	px.waitLog("login user alice, mailhost " + store.Addr)

	r := pxRaw(t, px.Addr)
	r.greeting()
	for i, name := range []string{`"*)(uid=*"`, `"alice)(|(uid=*"`, `"*"`, `"al*"`, `"alice\\00"`} {
		r.do(fmt.Sprintf("h%d LOGIN %s alicepw", i, name), fmt.Sprintf("h%d NO [AUTHENTICATIONFAILED]", i))
	}
	long := strings.Repeat("a", 4000)
	r.do("h7 LOGIN "+long+" alicepw", "h7 NO [AUTHENTICATIONFAILED]")
	// Non-UTF-8 as a literal.
	r.c.Write([]byte("h8 LOGIN {4+}\r\n\xff\xfe\x80a alicepw\r\n"))
	for {
		l := r.line()
		if strings.HasPrefix(l, "h8 ") {
			if !strings.HasPrefix(l, "h8 NO [AUTHENTICATIONFAILED]") {
				t.Fatalf("non-UTF-8 name: %q", l)
			}
			break
		}
	}
	log := px.waitLog(`login failed user *)(uid=* [AUTHENTICATIONFAILED]`)
	if strings.Contains(log, long) || strings.Contains(log, "\xff") {
		t.Fatal("raw hostile name in the session log")
	}
}

// TestProxyLDAPHangs runs the proxy in process against an LDAP server that
// accepts and never answers: the login is refused with UNAVAILABLE within
// the directory timeout, and no goroutine is left behind.
func TestProxyLDAPHangs(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	held := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			held <- c // read nothing, answer nothing
		}
	}()
	defer func() {
		for len(held) > 0 {
			(<-held).Close()
		}
	}()
	before := runtime.NumGoroutine()
	c := config.Default()
	c.Directory.URL = "ldap://" + hang.Addr().String()
	c.Directory.BaseDN = testslapd.BaseDN
	c.Directory.Timeout = config.Duration(500 * time.Millisecond)
	c.Directory.CacheTTL = 0
	ctx, cancel := context.WithTimeout(context.Background(), pxWait)
	defer cancel()
	dir, err := dirconfig.Open(ctx, c.Directory, nil)
	if err != nil {
		t.Fatal(err)
	}
	logp := filepath.Join(t.TempDir(), "session.log")
	sl, err := sessionlog.Open(sessionlog.Options{Path: logp})
	if err != nil {
		t.Fatal(err)
	}
	pc := c.Proxy
	pc.AllowPlaintext = true
	pc.FailDelay = 0
	srv, err := proxy.New(proxy.Options{Config: pc, Directory: dir, SessionLog: sl})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	r := pxRaw(t, ln.Addr().String())
	r.greeting()
	r.do("a1 LOGIN alice alicepw", "a1 NO [UNAVAILABLE]")
	r.do("a2 LOGOUT", "a2 OK")
	r.c.Close()
	srv.Close()
	dir.Close()
	sl.Close()
	b, _ := os.ReadFile(logp)
	if !strings.Contains(string(b), "[UNAVAILABLE]: directory unavailable") {
		t.Fatalf("session log:\n%s", b)
	}
	for len(held) > 0 {
		(<-held).Close()
	}
	for i := 0; ; i++ {
		n := runtime.NumGoroutine()
		if n <= before+2 {
			break
		}
		if i > 200 {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left (before %d):\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestProxyDovecotBackend: Dovecot as the store, with a master user for
// the proxy's SASL PLAIN authorization-identity login.
func TestProxyDovecotBackend(t *testing.T) {
	dv := startDovecot(t)
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "carol", Password: "carolpw", MailHost: dv})
	px := startPxProxy(t, ldifSection(ldif), "sendproxyprotocol = false")
	c := pxLogin(t, px.Addr, "carol", "carolpw", nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has("SORT") { // Dovecot's, not the proxy's
		t.Fatalf("capabilities not Dovecot's: %v", caps)
	}
	msg := pxMessage("via dovecot", 100<<10)
	pxAppend(t, c, msg)
	if got := pxSubjects(t, c); len(got) != 1 || got[0] != "via dovecot" {
		t.Fatalf("subjects %q", got)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH %v", err)
	}
	for _, b := range msgs[0].BodySection {
		if string(b.Bytes) != string(msg) {
			t.Fatal("body differs")
		}
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	c.Close()
	sid := px.sessionOf("login user carol, mailhost " + dv)
	px.waitLog(sid + " session end")
}

// startDovecot runs a non-system Dovecot on a free loopback port and
// returns its address.
func startDovecot(t *testing.T) string {
	t.Helper()
	bin := e2e.LookPath(t, "dovecot")
	// Mail processes run as an unprivileged uid that must reach the
	// directory, so not under t.TempDir() (0700).
	d, err := os.MkdirTemp("", "msgplex-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	uid, gid := os.Getuid(), os.Getgid()
	internal, login := "dovecot", "dovenull"
	if uid == 0 {
		uid, gid = 65534, 65534
	} else {
		internal, login = os.Getenv("USER"), os.Getenv("USER")
	}
	for _, sub := range []string{"run", "state", "mail", "home"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	for _, sub := range []string{"mail", "home"} {
		os.Chown(filepath.Join(d, sub), uid, gid)
	}
	addr := e2e.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = msgplex-test-%[2]s
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:%[1]s/mail/%%u
first_valid_uid = 0
default_internal_user = %[5]s
default_login_user = %[6]s
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]s
  }
  inet_listener imaps {
    port = 0
  }
}
passdb {
  driver = passwd-file
  master = yes
  args = %[1]s/master.passwd
}
passdb {
  driver = passwd-file
  args = %[1]s/users.passwd
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[4]d home=%[1]s/home/%%u allow_all_users=yes
}
`, d, port, uid, gid, internal, login)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(d, "dovecot.conf"), []byte(conf), 0o644))
	must(os.WriteFile(filepath.Join(d, "master.passwd"), []byte("msgplex-admin:{PLAIN}adminpw\n"), 0o644))
	must(os.WriteFile(filepath.Join(d, "users.passwd"), []byte("carol:{PLAIN}carolpw\n"), 0o644))
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(d, "dovecot.conf"))
	out, _ := os.Create(filepath.Join(d, "out"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	must(cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(d, "dovecot.log"))
			o, _ := os.ReadFile(filepath.Join(d, "out"))
			t.Logf("--- dovecot:\n%s\n%s", o, b)
		}
	})
	deadline := time.Now().Add(pxWait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-done:
			o, _ := os.ReadFile(filepath.Join(d, "out"))
			t.Fatalf("dovecot exited at start:\n%s", o)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("dovecot did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pid finds the proxy process by its config path in /proc.
func (p *pxProxy) pid() int {
	p.t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), "proxy\x00--config\x00"+p.cfg) {
			return pid
		}
	}
	p.t.Fatal("proxy process not found")
	return 0
}

// TestProxyReloadAndDrain: SIGHUP applies new limits and reopens the
// session log without dropping the spliced session; SIGTERM sends BYE to
// pre-auth sessions, lets the spliced one finish, then exits.
func TestProxyReloadAndDrain(t *testing.T) {
	ts := startTwoStores(t)
	px := startPxProxy(t, ldifSection(ts.ldif), `draintimeout = "25s"`)
	pid := px.pid()
	alice := pxLogin(t, px.Addr, "alice", "alicepw", nil)
	if _, err := alice.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	px.waitLog("login user alice")

	// Rotate the log, lower the per-address limit, SIGHUP.
	if err := os.Rename(px.logp, px.logp+".1"); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(px.cfg)
	if err := os.WriteFile(px.cfg, []byte(string(cfg)+"connlimits = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	pre := pxRaw(t, px.Addr)
	pre.greeting()
	for i := 0; ; i++ { // the reload is asynchronous: bounded retries
		c := pxRaw(t, px.Addr)
		if strings.HasPrefix(c.line(), "* BYE [UNAVAILABLE]") {
			c.c.Close()
			break
		}
		c.c.Close()
		if i > 200 {
			t.Fatal("connlimits not reloaded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	px.waitLog("(proxy.connlimits)") // in the new file
	if err := alice.Noop().Wait(); err != nil {
		t.Fatalf("spliced session dropped by reload: %v", err)
	}

	// Drain.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if l := pre.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("pre-auth session got %q, want BYE", l)
	}
	if _, err := alice.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect(); err != nil {
		t.Fatalf("spliced session during drain: %v", err)
	}
	if err := alice.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	alice.Close()
	deadline := time.Now().Add(pxWait)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("proxy did not exit after its last session")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Benchmarks through the built binary against the fake store (which
// isolates the proxy's own cost), LDIF directory with its cache:
//
//	go test -run '^$' -bench Proxy -benchtime 2000x ./test
//
// The login benchmarks are in proxylogin_bench_test.go.
// BenchmarkProxyIdleSessions: proxy RSS per idle spliced session
// ($MSGPLEX_BENCH_SESSIONS sessions, default 2000).

func startBenchProxy(b *testing.B) (*pxProxy, *fakestore.Server) {
	fs, err := fakestore.Start(fakestore.Options{AdminUser: "msgplex-admin", AdminPassword: "adminpw"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fs.Close)
	dir := b.TempDir()
	ldif := e2e.WriteLDIF(b, dir, e2e.User{UID: "alice", Password: "alicepw", MailHost: fs.Addr()})
	px := startPxProxyTB(b, fmt.Sprintf("url = %q", "ldif:"+ldif), "sendproxyprotocol = false\nconnlimits = 0\nmaxconnections = 0\nsessionlog = \"/dev/null\"")
	return px, fs
}

// procCPU is the user+system CPU time of pid.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// procRSS is the resident set of pid in bytes.
func procRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(l[6:], "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// procFDs is the number of open descriptors of pid.
func procFDs(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

func benchLoginOnce(b *testing.B, addr string) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(pxWait))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	c.Write([]byte("l LOGIN alice alicepw\r\n"))
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, "l ") {
			if !strings.HasPrefix(l, "l OK") {
				b.Fatal(l)
			}
			break
		}
	}
	c.Write([]byte("o LOGOUT\r\n"))
	for {
		l, err := r.ReadString('\n')
		if err != nil || strings.HasPrefix(l, "o ") {
			break
		}
	}
}

func BenchmarkProxyIdleSessions(b *testing.B) {
	n := 2000
	if v := os.Getenv("MSGPLEX_BENCH_SESSIONS"); v != "" {
		fmt.Sscan(v, &n)
	}
	px, _ := startBenchProxy(b)
	pid := px.pid()
	for i := 0; i < 10; i++ {
		benchLoginOnce(b, px.Addr)
	}
	rss0, fds0 := procRSS(b, pid), procFDs(pid)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", px.Addr, 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(pxWait))
		r := bufio.NewReader(c)
		r.ReadString('\n')
		c.Write([]byte("l LOGIN alice alicepw\r\n"))
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(l, "l ") {
				break
			}
		}
	}
	b.StopTimer()
	runtime.GC()
	rss := procRSS(b, pid)
	b.ReportMetric(float64(rss-rss0)/float64(n), "proxy-RSS-bytes/session")
	b.ReportMetric(float64(procFDs(pid)-fds0)/float64(n), "proxy-fds/session")
	b.ReportMetric(float64(n), "sessions")
}

// TestCounterutilStoreFile: counterutil reads a store's counters file
// (<store.dataroot>/counters/store.counters) given the store's config, and
// repeats with -i/-n.
func TestCounterutilStoreFile(t *testing.T) {
	dir := t.TempDir()
	set := counters.New(time.Unix(1771926900, 0))
	set.ConnOpened(time.Unix(1771926955, 0))
	set.LoginGood()
	set.Gauge("worker.1.sessions").Store(3)
	if err := counters.WriteFile(counters.FileFor("store", dir), "store", time.Now(), set.Snapshot()); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "store.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("store.dataroot = %q\n", dir)), 0o600)
	out, err := e2e.Run(t, "counterutil", "--config", cfg, "--service", "store", "-o", "imapstat", "-i", "1", "-n", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"global.currentstarttime", "1771926900", "global.numgoodlogins", "worker.1.sessions"} {
		if strings.Count(out, want) != 2 {
			t.Errorf("want %q twice in:\n%s", want, out)
		}
	}
	if out, err := e2e.Run(t, "counterutil", "--config", cfg, "-o", "imapstat"); err == nil {
		t.Fatalf("missing proxy counters file not reported:\n%s", out)
	}
}

// storeBench is a msgplex store with alice (and a message of size bytes
// if size > 0), a proxy in front of it and a plain splice relay.
type storeBench struct {
	store *e2e.Proc
	px    *pxProxy
	relay string
}

func startStoreBench(b *testing.B, size int) *storeBench {
	dir := b.TempDir()
	addr := e2e.FreeAddr(b)
	ldif := e2e.WriteLDIF(b, dir, e2e.User{UID: "alice", Password: "alicepw", MailHost: addr})
	sb := &storeBench{}
	sb.store = e2e.StartStore(b, e2e.StoreConfig{DataRoot: filepath.Join(dir, "s"), LDIF: ldif, Listen: addr})
	sb.px = startPxProxyTB(b, fmt.Sprintf("url = %q", "ldif:"+ldif), "connlimits = 0\nmaxconnections = 0\nsessionlog = \"/dev/null\"")
	sb.relay = splicerelay.Start(b, addr)
	if size > 0 {
		c, err := imapclient.DialInsecure(addr, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice", "alicepw").Wait(); err != nil {
			b.Fatal(err)
		}
		msg := pxMessage("bench", size)
		cmd := c.Append("INBOX", int64(len(msg)), nil)
		cmd.Write(msg)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	return sb
}

// BenchmarkProxyFetchStore: bytes/s of a 64 MiB FETCH BODY[] from the
// msgplex store, direct, through the splice relay, through the proxy.
func BenchmarkProxyFetchStore(b *testing.B) {
	const size = 64 << 20
	sb := startStoreBench(b, size)
	for _, tc := range []struct{ name, addr string }{
		{"direct", sb.store.Addr}, {"splice-relay", sb.relay}, {"proxy", sb.px.Addr},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Minute))
			r := bufio.NewReaderSize(c, 64<<10)
			r.ReadString('\n')
			benchCmd(b, c, r, "l LOGIN alice alicepw")
			benchCmd(b, c, r, "s SELECT INBOX")
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fmt.Fprintf(c, "f FETCH 1 BODY.PEEK[]\r\n")
				hdr, err := r.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				var n int64
				if i := strings.LastIndexByte(hdr, '{'); i < 0 {
					b.Fatalf("fetch: %q", hdr)
				} else {
					fmt.Sscanf(hdr[i:], "{%d}", &n)
				}
				if _, err := io.CopyN(io.Discard, r, n); err != nil {
					b.Fatal(err)
				}
				if l := benchUntil(b, r, "f"); !strings.HasPrefix(l, "f OK") {
					b.Fatal(l)
				}
			}
		})
	}
}

func benchCmd(b *testing.B, c net.Conn, r *bufio.Reader, cmd string) {
	fmt.Fprintf(c, "%s\r\n", cmd)
	tag := strings.Fields(cmd)[0]
	if l := benchUntil(b, r, tag); !strings.HasPrefix(l, tag+" OK") {
		b.Fatalf("%s: %q", cmd, l)
	}
}

func benchUntil(b *testing.B, r *bufio.Reader, tag string) string {
	for i := 0; i < 1000; i++ {
		l, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, tag+" ") {
			return l
		}
	}
	b.Fatal("no tagged response")
	return ""
}

// TestProxyProtocolChain: a trusted balancer's PROXY header gives the
// client address; the proxy logs it and passes it on to the store in its
// own PROXY v2 header, so the store's log shows the real client too.
func TestProxyProtocolChain(t *testing.T) {
	ts := startTwoStores(t)
	px := startPxProxy(t, ldifSection(ts.ldif), `trustedloadbalancers = ["127.0.0.1"]`)
	c := pxRaw(t, px.Addr)
	if _, err := c.c.Write([]byte("PROXY TCP4 203.0.113.9 10.0.0.5 5555 143\r\n")); err != nil {
		t.Fatal(err)
	}
	c.greeting()
	c.do("a1 LOGIN bob bobpw", "a1 OK")
	c.do("a2 NOOP", "a2 OK")
	px.waitLog("session start, client IP 203.0.113.9:5555, server IP 10.0.0.5:143")
	deadline := time.Now().Add(pxWait)
	for !strings.Contains(ts.s2.Log(), "203.0.113.9") {
		if time.Now().After(deadline) {
			t.Fatalf("store log lacks the client address:\n%s", ts.s2.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
