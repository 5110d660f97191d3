package preauth

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

var plaintextOK = Options{AllowPlaintext: true}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestCapabilitiesPlaintextAllowed(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	for _, caps := range [][]string{tc.greeting(), tc.capability("A1")} {
		for _, want := range []string{"IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "AUTH=PLAIN", "AUTH=LOGIN"} {
			if !has(caps, want) {
				t.Errorf("capabilities %q lack %s", caps, want)
			}
		}
		for _, not := range []string{"STARTTLS", "LOGINDISABLED", "IMAP4rev2", "ENABLE"} {
			if has(caps, not) {
				t.Errorf("capabilities %q offer %s", caps, not)
			}
		}
	}
	tc.do("A2 noop", "A2 OK NOOP completed")
	tc.do("A3 LOGOUT", "* BYE ", "A3 OK LOGOUT completed")
	if _, err := tc.result(); !errors.Is(err, ErrLogout) {
		t.Fatalf("Serve: %v, want ErrLogout", err)
	}
	tc.expectEOF()
}

func TestCapabilitiesLoginDisabled(t *testing.T) {
	t.Parallel()
	srvTLS, _ := selfSigned(t)
	tc := start(t, Options{TLSConfig: srvTLS}, false)
	for _, caps := range [][]string{tc.greeting(), tc.capability("A1")} {
		if !has(caps, "STARTTLS") || !has(caps, "LOGINDISABLED") || hasPrefix(caps, "AUTH=") {
			t.Errorf("capabilities %q: want STARTTLS and LOGINDISABLED, no AUTH=", caps)
		}
	}
	tc.do("A2 LOGIN alice secret", "A2 NO [PRIVACYREQUIRED]")
	tc.do("A3 AUTHENTICATE PLAIN "+b64("\x00alice\x00secret"), "A3 NO [PRIVACYREQUIRED]")
	tc.do("A4 AUTHENTICATE LOGIN", "A4 NO [PRIVACYREQUIRED]")
	if n := len(tc.fake.calls()); n != 0 {
		t.Errorf("LoginFunc called %d times before TLS", n)
	}
	tc.do("A5 LOGOUT", "* BYE", "A5 OK")
}

func TestNoTLSNoPlaintext(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{}, false)
	caps := tc.greeting()
	if has(caps, "STARTTLS") || !has(caps, "LOGINDISABLED") {
		t.Errorf("capabilities %q", caps)
	}
	tc.do("A1 STARTTLS", "A1 BAD STARTTLS not available")
	tc.do("A2 NOOP", "A2 OK")
}

func TestLoginOutcome(t *testing.T) {
	t.Parallel()
	// net.Pipe: the client's one write is read whole, so the pipelined
	// SELECT is certainly buffered by the time LOGIN is answered.
	tc := start(t, Options{AllowPlaintext: true, ServerID: map[string]string{"name": "msgplex", "version": `1 "q"`}}, true)
	tc.greeting()
	tc.do(`A1 ID ("name" "imaplib" "Version" "3.11" "os" NIL)`, `* ID ("name" "msgplex" "version" "1 \"q\"")`, "A1 OK ID completed")
	tc.send("A2 LOGIN alice \"secret\"\r\nA3 SELECT INBOX\r\nA4 FETCH 1:* (FLAGS)\r\n")
	tc.expect("A2 OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] Logged in")
	out, err := tc.result()
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if got := string(out.Buffered); got != "A3 SELECT INBOX\r\nA4 FETCH 1:* (FLAGS)\r\n" {
		t.Errorf("Buffered %q", got)
	}
	want := Credentials{Mechanism: "LOGIN", Username: "alice"}
	if out.Credentials != want {
		t.Errorf("Credentials %#v, want %#v (password cleared)", out.Credentials, want)
	}
	if out.TLS || out.Conn != tc.srv {
		t.Errorf("State TLS %v Conn %v", out.TLS, out.Conn)
	}
	if out.ClientID["name"] != "imaplib" || out.ClientID["version"] != "3.11" || out.ClientID["os"] != "" || len(out.ClientID) != 3 {
		t.Errorf("ClientID %q", out.ClientID)
	}
	if seen := tc.fake.calls(); len(seen) != 1 || seen[0].Password != "secret" {
		t.Errorf("LoginFunc saw %v", seen)
	}
	// The connection is handed over usable, with no deadline left.
	go tc.conn.Write([]byte("more\r\n"))
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out.Conn, buf); err != nil || string(buf) != "more\r\n" {
		t.Errorf("read after Serve: %q %v", buf, err)
	}
}

func TestLoginLiterals(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	tc.send("A1 LOGIN {5}\r\n")
	tc.expect("+ Ready for literal")
	tc.send("alice {6}\r\n")
	tc.expect("+ Ready for literal")
	tc.send("wrong!\r\n")
	tc.expect("A1 NO [AUTHENTICATIONFAILED] Invalid credentials")
	// LITERAL+: no continuation; the password holds a quote and a space.
	tc.send("A2 LOGIN {5+}\r\nalice {9+}\r\nse\"c ret!\r\n")
	tc.expect("A2 NO [AUTHENTICATIONFAILED]")
	tc.send("A3 LOGIN \"alice\" {6+}\r\nsecret\r\n")
	tc.expect("A3 OK [CAPABILITY")
	out, err := tc.result()
	if err != nil || out.Credentials.Username != "alice" {
		t.Fatalf("Serve: %v %v", out, err)
	}
	seen := tc.fake.calls()
	if len(seen) != 3 || seen[0].Password != "wrong!" || seen[1].Password != "se\"c ret!" {
		t.Errorf("LoginFunc saw %q", seen)
	}
}

func TestTooManyFailures(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, MaxFailures: 2}, false)
	tc.greeting()
	tc.do("A1 LOGIN alice nope", "A1 NO [AUTHENTICATIONFAILED] Invalid credentials")
	// A temporary refusal does not count.
	tc.do("A2 LOGIN hold x", "A2 NO [UNAVAILABLE] Mailbox on hold, try later")
	tc.do("A3 LOGIN boom x", "A3 NO [SERVERBUG] Internal error")
	tc.do("A4 NOOP", "A4 OK")
	tc.do("A5 AUTHENTICATE PLAIN "+b64("\x00bob\x00nope"), "A5 NO [AUTHENTICATIONFAILED]", "* BYE Too many authentication failures")
	if _, err := tc.result(); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("Serve: %v", err)
	}
	tc.expectEOF()
}

func TestFatalRefusalWithAlert(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	tc.do("A1 LOGIN gone secretpw", "* OK [ALERT] Mail store down  A9 OK injected", "A1 NO [UNAVAILABLE] Mail store down", "* BYE Mail store down")
	_, err := tc.result()
	var ref *Refusal
	if !errors.As(err, &ref) || !ref.Fatal {
		t.Fatalf("Serve: %v, want the fatal Refusal", err)
	}
	if strings.Contains(err.Error(), "secretpw") {
		t.Errorf("error %q shows the password", err)
	}
	tc.expectEOF()
}

func TestInternalErrorTextNotSent(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	l := tc.do("A1 LOGIN boom x", "A1 NO [SERVERBUG]")[0]
	if strings.Contains(l, "exploded") || strings.Contains(l, "secret") {
		t.Errorf("internal error text sent: %q", l)
	}
	tc.do("A2 LOGIN nilref x", "A2 NO [SERVERBUG]")
	tc.do("A3 NOOP", "A3 OK")
}

func TestBadCommandsUntilLimit(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, MaxBadCommands: 4}, false)
	tc.greeting()
	tc.do("A1 SELECT INBOX", "A1 BAD command not valid before authentication")
	tc.do("A2 FROB", "A2 BAD unknown command")
	tc.do("A3 NOOP", "A3 OK") // the connection survives
	tc.do("", "* BAD empty command line")
	tc.do("A4 LOGIN", "A4 BAD")
	tc.expect("* BYE Too many invalid commands")
	if _, err := tc.result(); !errors.Is(err, ErrTooManyBad) {
		t.Fatalf("Serve: %v", err)
	}
	tc.expectEOF()
}

func TestPostAuthAppendLiteralNotRequested(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	// No "+ Ready" for a command that is refused anyway.
	tc.do("A1 APPEND INBOX {20}", "A1 BAD command not valid before authentication")
	tc.do("A2 APPEND INBOX {5+}\r\nhello", "A2 BAD command not valid")
	tc.do("A3 NOOP", "A3 OK")
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, MaxLine: 100}, false)
	tc.greeting()
	tc.do("A1 LOGIN "+strings.Repeat("a", 87)+" b", "A1 NO") // 100 octets with CRLF: fits
	tc.send("A2 LOGIN " + strings.Repeat("a", 200) + " b\r\n")
	tc.expect("* BYE line too long")
	if _, err := tc.result(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Serve: %v", err)
	}
	tc.expectEOF()
}

func TestLiteralTooLarge(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, MaxLiteral: 10}, false)
	tc.greeting()
	// Synchronising: refused before the client sends it.
	tc.do("A1 LOGIN {11}", "A1 BAD literal too large")
	tc.do("A2 LOGIN {10}", "+ Ready for literal")
	tc.do("alice12345 x", "A2 NO [AUTHENTICATIONFAILED]")
	// Non-synchronising: already on its way, so the session ends.
	tc.do("A3 LOGIN {11+}\r\n01234567890 x", "A3 BAD literal too large", "* BYE literal too large")
	if _, err := tc.result(); !errors.Is(err, ErrLiteralTooLarge) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, Timeout: time.Second}, false)
	// The greeting may itself be late on a loaded machine: read to the BYE.
	var l string
	for range 2 {
		if l = tc.line(); strings.HasPrefix(l, "* BYE") {
			break
		}
	}
	if l != "* BYE Autologout; idle for too long" {
		t.Fatalf("got %q, want the autologout BYE", l)
	}
	if _, err := tc.result(); !errors.Is(err, ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Serve: %v", err)
	}
	tc.expectEOF()
}

func TestTimeoutMidLiteral(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, Timeout: time.Second}, false)
	tc.greeting()
	tc.do("A1 LOGIN {5}", "+ Ready")
	tc.send("al")
	tc.expect("* BYE Autologout")
	if _, err := tc.result(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestLoginFuncSeesDeadline(t *testing.T) {
	t.Parallel()
	cli, srv := loopbackPair(t)
	defer cli.Close()
	defer srv.Close()
	done := make(chan error, 1)
	go func() {
		_, err := Serve(context.Background(), srv, Options{AllowPlaintext: true, Timeout: time.Second},
			func(ctx context.Context, _ Credentials, _ *State) (LoginResult, error) {
				<-ctx.Done() // a directory that hangs
				return LoginResult{}, ctx.Err()
			})
		done <- err
	}()
	tc := &transcript{t: t, conn: cli, r: newClientReader(cli)}
	cli.SetDeadline(time.Now().Add(ioGuard))
	tc.expect("* OK")
	tc.do("A1 LOGIN alice secret", "* BYE Autologout")
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestContextCancelDrains(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	tc.do("A1 NOOP", "A1 OK")
	tc.cancel()
	tc.expect("* BYE Server shutting down")
	if _, err := tc.result(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestAuthenticatePlain(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, MaxBadCommands: 20}, false)
	tc.greeting()
	// No initial response: an empty challenge first.
	tc.do("A1 AUTHENTICATE PLAIN", "+ ")
	tc.do(b64("\x00alice\x00nope"), "A1 NO [AUTHENTICATIONFAILED]")
	tc.do("A2 AUTHENTICATE plain", "+ ")
	tc.do("*", "A2 BAD Authentication cancelled")
	tc.do("A3 AUTHENTICATE PLAIN", "+ ")
	tc.do("not base64!", "A3 BAD Invalid base64")
	tc.do("A4 AUTHENTICATE PLAIN", "+ ")
	tc.do(b64("no nuls"), "A4 BAD Invalid authentication response")
	tc.do("A5 AUTHENTICATE PLAIN =", "A5 BAD Invalid authentication response") // RFC 4959 empty IR
	tc.do("A6 AUTHENTICATE PLAIN YWxp", "A6 BAD Invalid authentication response")
	tc.do("A7 AUTHENTICATE PLAIN YWx", "A7 BAD Invalid base64")
	tc.do("A8 AUTHENTICATE CRAM-MD5", "A8 NO Unsupported authentication mechanism")
	tc.do("A9 AUTHENTICATE PLAIN", "+ ")
	tc.send("abc\n")
	tc.expect("A9 BAD line not ended by CRLF")
	tc.do("B1 NOOP", "B1 OK")
	// SASL-IR with an authorization identity.
	tc.do("B2 AUTHENTICATE PLAIN "+b64("alice\x00alice\x00secret"), "B2 OK [CAPABILITY IMAP4rev1")
	out, err := tc.result()
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	want := Credentials{Mechanism: "PLAIN", AuthzID: "alice", Username: "alice"}
	if out.Credentials != want {
		t.Errorf("Credentials %#v, want %#v", out.Credentials, want)
	}
	if n := len(tc.fake.calls()); n != 2 {
		t.Errorf("LoginFunc called %d times, want 2", n)
	}
}

func TestAuthenticatePlainContinuation(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	tc.do("A1 AUTHENTICATE PLAIN", "+ ")
	tc.do(b64("\x00alice\x00secret"), "A1 OK")
	if out, err := tc.result(); err != nil || out.Credentials.Mechanism != "PLAIN" || out.Credentials.AuthzID != "" {
		t.Fatalf("Serve: %+v %v", out, err)
	}
}

func TestAuthenticateLogin(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	tc.do("A1 AUTHENTICATE LOGIN", "+ VXNlcm5hbWU6")
	tc.do(b64("alice"), "+ UGFzc3dvcmQ6")
	tc.do(b64("nope"), "A1 NO [AUTHENTICATIONFAILED]")
	tc.do("A2 AUTHENTICATE LOGIN", "+ VXNlcm5hbWU6")
	tc.do("*", "A2 BAD Authentication cancelled")
	// With SASL-IR the initial response is the user name.
	tc.do("A3 AUTHENTICATE LOGIN "+b64("alice"), "+ UGFzc3dvcmQ6")
	tc.do(b64("secret"), "A3 OK [CAPABILITY")
	out, err := tc.result()
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if want := (Credentials{Mechanism: "LOGIN", Username: "alice"}); out.Credentials != want {
		t.Errorf("Credentials %#v", out.Credentials)
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	tc := start(t, Options{TLSConfig: srvTLS}, false)
	tc.greeting()
	tc.do("A1 STARTTLS", "A1 OK Begin TLS negotiation now")
	tlsConn := tls.Client(tc.conn, cliTLS)
	if err := tlsConn.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	tc.conn, tc.r = tlsConn, newClientReader(tlsConn)
	caps := tc.capability("A2")
	if has(caps, "STARTTLS") || has(caps, "LOGINDISABLED") || !has(caps, "AUTH=PLAIN") || !has(caps, "AUTH=LOGIN") {
		t.Errorf("capabilities after STARTTLS %q", caps)
	}
	tc.do("A3 STARTTLS", "A3 BAD STARTTLS not available")
	tc.do("A4 LOGIN alice secret", "A4 OK [CAPABILITY")
	out, err := tc.result()
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, ok := out.Conn.(*tls.Conn); !ok || !out.TLS {
		t.Errorf("Outcome conn %T TLS %v", out.Conn, out.TLS)
	}
	if st := tc.fake.state; len(st) != 1 || !st[0].TLS {
		t.Errorf("LoginFunc state %+v", st)
	}
}

// TestStartTLSInjection: commands pipelined in plaintext after STARTTLS
// must not run as if they came over TLS (CVE-2011-0411).
func TestStartTLSInjection(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	// net.Pipe: the one write below is read whole with the STARTTLS line.
	tc := start(t, Options{TLSConfig: srvTLS}, true)
	tc.greeting()
	tc.send("A1 STARTTLS\r\nA2 LOGIN alice secret\r\n")
	tc.expect("A1 OK Begin TLS")
	tlsConn := tls.Client(tc.conn, cliTLS)
	if err := tlsConn.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	tc.conn, tc.r = tlsConn, newClientReader(tlsConn)
	tc.do("A3 NOOP", "A3 OK")
	if n := len(tc.fake.calls()); n != 0 {
		t.Fatalf("injected LOGIN reached the LoginFunc (%d calls)", n)
	}
	tc.do("A4 LOGOUT", "* BYE", "A4 OK")
}

func TestStartTLSHandshakeFailure(t *testing.T) {
	t.Parallel()
	srvTLS, _ := selfSigned(t)
	tc := start(t, Options{TLSConfig: srvTLS}, false)
	tc.greeting()
	tc.do("A1 STARTTLS", "A1 OK")
	tc.send("A2 NOOP\r\n") // not a TLS ClientHello
	if _, err := tc.result(); err == nil || !strings.Contains(err.Error(), "handshake") {
		t.Fatalf("Serve: %v", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	cli, srv := loopbackPair(t)
	tc := startOn(t, Options{ImplicitTLS: true, TLSConfig: srvTLS}, tls.Client(cli, cliTLS), tls.Server(srv, srvTLS))
	caps := tc.greeting()
	if has(caps, "STARTTLS") || has(caps, "LOGINDISABLED") || !has(caps, "AUTH=PLAIN") {
		t.Errorf("capabilities %q", caps)
	}
	tc.do("A1 STARTTLS", "A1 BAD")
	tc.do("A2 LOGIN alice secret", "A2 OK")
	if out, err := tc.result(); err != nil || !out.TLS {
		t.Fatalf("Serve: %+v %v", out, err)
	}
}

func TestClientHangsUp(t *testing.T) {
	t.Parallel()
	tc := start(t, plaintextOK, false)
	tc.greeting()
	tc.send("A1 NOOP\r\nA2 LOG")
	tc.expect("A1 OK")
	tc.conn.Close()
	if _, err := tc.result(); !errors.Is(err, io.EOF) {
		t.Fatalf("Serve: %v, want io.EOF", err)
	}
}

func TestCredentialsRedacted(t *testing.T) {
	t.Parallel()
	cr := Credentials{Mechanism: "PLAIN", AuthzID: "admin", Username: "alice", Password: "hunter2"}
	var sb strings.Builder
	logger := slogText(&sb)
	logger.Info("login", "cr", cr)
	for _, s := range []string{cr.String(), fmtV(cr), fmtPlusV(cr), fmtSharpV(cr), sb.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password shown: %s", s)
		}
		if !strings.Contains(s, "alice") {
			t.Errorf("user missing: %s", s)
		}
	}
	ref := &Refusal{Code: "AUTHENTICATIONFAILED", Text: "Invalid credentials"}
	if got := ref.Error(); got != "login refused [AUTHENTICATIONFAILED]: Invalid credentials" {
		t.Errorf("Refusal.Error() = %q", got)
	}
}

func TestStateString(t *testing.T) {
	t.Parallel()
	for st, want := range map[state]string{statePlaintext: "not-authenticated", stateTLS: "not-authenticated-tls", stateAuthenticated: "authenticated", stateLogout: "logout", 9: "state(9)"} {
		if st.String() != want {
			t.Errorf("%d.String() = %q", st, st.String())
		}
	}
}

var _ net.Conn = (*tls.Conn)(nil)

func TestCancelDuringLogin(t *testing.T) {
	t.Parallel()
	cli, srv := loopbackPair(t)
	defer cli.Close()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := Serve(ctx, srv, plaintextOK, func(ctx context.Context, _ Credentials, _ *State) (LoginResult, error) {
			close(entered)
			<-ctx.Done()
			return LoginResult{}, ctx.Err()
		})
		done <- err
	}()
	tc := &transcript{t: t, conn: cli, r: newClientReader(cli)}
	cli.SetDeadline(time.Now().Add(ioGuard))
	tc.expect("* OK")
	tc.send("A1 LOGIN alice secret\r\n")
	<-entered
	cancel()
	tc.expect("* BYE Server shutting down")
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestAuthenticateResponseTooLong(t *testing.T) {
	t.Parallel()
	tc := start(t, Options{AllowPlaintext: true, MaxLine: 64}, false)
	tc.greeting()
	tc.do("A1 AUTHENTICATE PLAIN", "+ ")
	tc.do(strings.Repeat("QUFB", 40), "* BYE line too long")
	if _, err := tc.result(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("Serve: %v", err)
	}
}
