package preauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"A1 CAPABILITY\r\n",
	"A1 NOOP\r\nA2 LOGOUT\r\n",
	"A1 LOGIN alice secret\r\nA2 SELECT INBOX\r\n",
	"A1 LOGIN \"al\\\"ice\" \"p\\\\w\"\r\n",
	"A1 LOGIN {5}\r\nalice {6}\r\nsecret\r\n",
	"A1 LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n",
	"A1 LOGIN {0}\r\n {0+}\r\n\r\n",
	"A1 LOGIN \"j\xc3\xb6rg\" \"\xff\"\r\n",
	"A1 AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n",
	"A1 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
	"A1 AUTHENTICATE PLAIN =\r\n",
	"A1 AUTHENTICATE PLAIN\r\n*\r\n",
	"A1 AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n",
	"A1 AUTHENTICATE LOGIN YWxpY2U=\r\nc2VjcmV0\r\n",
	"A1 ID (\"name\" \"x\" \"version\" NIL)\r\nA2 ID NIL\r\nA3 ID ()\r\n",
	"A1 STARTTLS\r\nA2 LOGIN alice secret\r\n",
	"A1 APPEND INBOX {5+}\r\nhello\r\nA2 FROB {3}\r\n",
	"\r\n\n+ x\r\n* NOOP\r\nA1  NOOP\r\nA1 NOOP \r\n",
	"A1 LOGIN {99999999999999999999999}\r\n",
	"A1 LOGIN {9999+}\r\n",
	"A1 LOGIN a\x00b c\r\nA2 LOGIN {3+}\r\na\x00b c\r\n",
	strings.Repeat("x", 300) + "\r\n",
}

// FuzzParse feeds arbitrary bytes to the parser, resynchronising after
// each syntax error as the session does.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxLine, maxLiteral = 256, 64
		p := newParser(bufio.NewReader(bytes.NewReader(data)), maxLine, maxLiteral, func() error { return nil })
		var c command
		for range 64 {
			err := p.readCommand(&c)
			if p.n > maxLine+1 { // the octet over the limit is counted, not accepted
				t.Fatalf("read %d octets of a line, limit %d", p.n, maxLine)
			}
			if err == nil {
				checkCommand(t, &c, maxLiteral)
				continue
			}
			if errFatal(err) {
				return
			}
			if err := p.resync(); err != nil {
				return
			}
		}
	})
}

// checkCommand checks what any successfully parsed command must satisfy.
func checkCommand(t *testing.T, c *command, maxLiteral int) {
	t.Helper()
	if c.tag == "" || c.spec.run == nil {
		t.Fatalf("parsed command without tag or spec: %+v", c)
	}
	for i := 0; i < len(c.tag); i++ {
		if !isTagChar(c.tag[i]) {
			t.Fatalf("invalid tag %q", c.tag)
		}
	}
	if _, ok := commands[c.name]; !ok {
		t.Fatalf("unknown command %q parsed", c.name)
	}
	for _, a := range c.args {
		if len(a) > maxLiteral && c.name != "LOGIN" && c.name != "ID" {
			t.Fatalf("argument of %d octets", len(a))
		}
		if strings.IndexByte(a, 0) >= 0 {
			t.Fatalf("NUL in argument %q", a)
		}
	}
	switch c.name {
	case "LOGIN":
		if len(c.args) != 2 {
			t.Fatalf("LOGIN with %d args", len(c.args))
		}
		roundTripLogin(t, c.args[0], c.args[1])
	case "AUTHENTICATE":
		if len(c.args) < 1 || len(c.args) > 2 {
			t.Fatalf("AUTHENTICATE with %d args", len(c.args))
		}
	case "ID":
		if len(c.args)%2 != 0 || len(c.args) > 2*maxIDPairs {
			t.Fatalf("ID with %d args", len(c.args))
		}
	default:
		if len(c.args) != 0 {
			t.Fatalf("%s with args %q", c.name, c.args)
		}
	}
}

// roundTripLogin re-encodes LOGIN's arguments as literals and checks they
// parse back unchanged.
func roundTripLogin(t *testing.T, user, pass string) {
	t.Helper()
	line := "R LOGIN {" + strconv.Itoa(len(user)) + "+}\r\n" + user + " {" + strconv.Itoa(len(pass)) + "}\r\n" + pass + "\r\n"
	p := newParser(bufio.NewReader(strings.NewReader(line)), 64, 1<<20, func() error { return nil })
	var c command
	if err := p.readCommand(&c); err != nil || len(c.args) != 2 || c.args[0] != user || c.args[1] != pass {
		t.Fatalf("round trip of %q %q: %q %v", user, pass, c.args, err)
	}
}

// scriptConn is a net.Conn that reads a fixed script, then EOF, and
// records what is written.
type scriptConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143} }
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServe runs whole sessions from arbitrary client bytes: Serve must
// not panic, must answer in well-formed lines and never echo a password.
func FuzzServe(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	srvTLS, _ := selfSigned(f)
	f.Fuzz(func(t *testing.T, data []byte, plaintext bool) {
		conn := &scriptConn{r: bytes.NewReader(data)}
		opts := Options{Hostname: "fuzz", AllowPlaintext: plaintext, TLSConfig: srvTLS, MaxLine: 256, MaxLiteral: 64,
			Timeout: time.Second, ServerID: map[string]string{"name": "msgplex"}}
		login := func(ctx context.Context, cr Credentials, _ *State) (LoginResult, error) {
			if cr.Username == "alice" && cr.Password == "secret" {
				return LoginResult{Capabilities: []string{"IMAP4rev1"}}, nil
			}
			return LoginResult{}, &Refusal{Code: "AUTHENTICATIONFAILED", Text: "Invalid credentials", CountsAsFailure: true}
		}
		out, err := Serve(context.Background(), conn, opts, login)
		if err == nil {
			if out == nil || out.Credentials.Password != "" || len(out.Buffered) > len(data) {
				t.Fatalf("bad outcome %+v", out)
			}
		} else if out != nil {
			t.Fatalf("outcome with error %v", err)
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !knownEnd(err) {
			t.Logf("Serve: %v", err)
		}
		checkResponses(t, conn.out.String())
	})
}

func knownEnd(err error) bool {
	for _, e := range []error{ErrLogout, ErrTimeout, ErrTooManyFailures, ErrTooManyBad, ErrLineTooLong, ErrLiteralTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return strings.Contains(err.Error(), "STARTTLS handshake")
}

// checkResponses checks the server's output is CRLF-terminated lines, each
// untagged, a continuation or a tagged status, with no password after the tag.
func checkResponses(t *testing.T, out string) {
	t.Helper()
	if i := strings.Index(out, "\x16\x03"); i >= 0 { // a TLS record after STARTTLS
		out = out[:i]
	}
	for out != "" {
		line, rest, ok := strings.Cut(out, "\r\n")
		if !ok {
			t.Fatalf("unterminated response %q", out)
		}
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("response with control characters %q", line)
		}
		tag, status, _ := strings.Cut(line, " ")
		if strings.Contains(status, "secret") { // the tag is the client's own
			t.Fatalf("password in response %q", line)
		}
		switch {
		case tag == "*" || tag == "+":
		case status == "" || tag == "":
			t.Fatalf("malformed response %q", line)
		default:
			st, _, _ := strings.Cut(status, " ")
			if st != "OK" && st != "NO" && st != "BAD" {
				t.Fatalf("tagged response with status %q", line)
			}
		}
		out = rest
	}
}
