package preauth

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"msgplex/internal/e2e"
)

// The real-client tests run Serve behind a loopback listener and log in
// with Python's imaplib and go-imap/v2's imapclient. The password has a
// space, a quote and a backslash so that the clients must quote or use
// literals.
const realPassword = `s3 "cr\et`

func realLogin(ctx context.Context, cr Credentials, _ *State) (LoginResult, error) {
	if cr.Username == "alice" && cr.Password == realPassword && (cr.AuthzID == "" || cr.AuthzID == "alice") {
		return LoginResult{Capabilities: []string{"IMAP4rev1", "IDLE", "UIDPLUS"}}, nil
	}
	return LoginResult{}, &Refusal{Code: "AUTHENTICATIONFAILED", Text: "Invalid credentials", CountsAsFailure: true}
}

// serveOne accepts one connection on a loopback listener and runs Serve on
// it; the result arrives on the channel.
func serveOne(t *testing.T, opts Options) (addr string, results <-chan result) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	accepted := make(chan net.Conn, 1)
	t.Cleanup(func() {
		cancel() // a Serve still running ends at once
		ln.Close()
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			ch <- result{err: err}
			return
		}
		out, err := Serve(ctx, conn, opts, realLogin)
		if err != nil {
			conn.Close()
		} else {
			accepted <- conn
		}
		ch <- result{out, err}
	}()
	return ln.Addr().String(), ch
}

const imaplibScript = `
import imaplib, sys
host, port = sys.argv[1].rsplit(":", 1)
mode, password = sys.argv[2], sys.argv[3]
M = imaplib.IMAP4(host, int(port))
assert "AUTH=PLAIN" in M.capabilities, M.capabilities
if mode == "login":
    typ, data = M.login("alice", password)
else:
    typ, data = M.authenticate("PLAIN", lambda _: b"\0alice\0" + password.encode())
print(typ, data[0].decode())
M.shutdown()
`

func TestImaplib(t *testing.T) {
	t.Parallel()
	py := e2e.LookPath(t, "python3")
	script := filepath.Join(t.TempDir(), "login.py")
	if err := os.WriteFile(script, []byte(imaplibScript), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"login", "authenticate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			addr, results := serveOne(t, Options{Hostname: "proxy.test", AllowPlaintext: true})
			cmd := exec.Command(py, script, addr, mode, realPassword)
			outb, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("imaplib: %v\n%s", err, outb)
			}
			if got := strings.TrimSpace(string(outb)); got != "OK [CAPABILITY IMAP4rev1 IDLE UIDPLUS] Logged in" {
				t.Errorf("imaplib printed %q", got)
			}
			r := <-results
			if r.err != nil {
				t.Fatalf("Serve: %v", r.err)
			}
			wantMech := map[string]string{"login": "LOGIN", "authenticate": "PLAIN"}[mode]
			if r.out.Credentials.Username != "alice" || r.out.Credentials.Mechanism != wantMech {
				t.Errorf("Outcome credentials %v", r.out.Credentials)
			}
		})
	}
}

func TestImapclient(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := selfSigned(t)
	tests := []struct {
		name     string
		starttls bool
		login    func(c *imapclient.Client) error
	}{
		{"login", false, func(c *imapclient.Client) error { return c.Login("alice", realPassword).Wait() }},
		{"authenticate plain", false, func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient("", "alice", realPassword))
		}},
		{"authenticate plain authzid", false, func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient("alice", "alice", realPassword))
		}},
		{"authenticate login", false, func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewLoginClient("alice", realPassword))
		}},
		{"starttls login", true, func(c *imapclient.Client) error { return c.Login("alice", realPassword).Wait() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{Hostname: "proxy.test", AllowPlaintext: !tt.starttls, TLSConfig: srvTLS}
			addr, results := serveOne(t, opts)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			var c *imapclient.Client
			if tt.starttls {
				c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cliTLS})
				if err != nil {
					t.Fatalf("STARTTLS: %v", err)
				}
			} else {
				c = imapclient.New(conn, nil)
			}
			defer c.Close()
			if err := tt.login(c); err != nil {
				t.Fatalf("login: %v", err)
			}
			if caps := c.Caps(); !caps.Has("IDLE") || caps.Has("AUTH=PLAIN") {
				t.Errorf("client's capabilities after login %v: want the backend's", caps)
			}
			r := <-results
			if r.err != nil {
				t.Fatalf("Serve: %v", r.err)
			}
			if r.out.TLS != tt.starttls || r.out.Credentials.Username != "alice" {
				t.Errorf("Outcome %+v", r.out)
			}
		})
	}
}

// TestImapclientWrongPassword: the client sees the NO and its code.
func TestImapclientWrongPassword(t *testing.T) {
	t.Parallel()
	addr, _ := serveOne(t, Options{Hostname: "proxy.test", AllowPlaintext: true})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	err = c.Login("alice", "wrong").Wait()
	if err == nil || !strings.Contains(err.Error(), "Invalid credentials") {
		t.Fatalf("login: %v", err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP after a failed login: %v", err)
	}
}
