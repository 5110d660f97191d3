package proxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"msgplex/config"
)

func testTLSConfig(t testing.TB) *tls.Config {
	c, k, err := EnsureSelfSigned(t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}
}

// tlsEnv is newEnv with TLS: STARTTLS on e.addr, implicit TLS on the
// returned address.
func tlsEnv(t *testing.T) (*env, string) {
	tc := testTLSConfig(t)
	e := newEnvOpts(t, func(c *config.Proxy) { c.AllowPlaintext = false }, func(o *Options) { o.TLSConfig = tc })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeTLS(ln)
	return e, ln.Addr().String()
}

func fetchOverTLS(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	cl := &client{t: t, r: r}
	write := func(s string) {
		if _, err := c.Write([]byte(s + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	write("a1 LOGIN alice alicepw")
	cl.until("a1 OK")
	const size = 2 << 20
	write(fmt.Sprintf("a2 FETCH-BIG %d", size))
	cl.line()
	if n, err := io.CopyN(io.Discard, r, size); err != nil || n != size {
		t.Fatalf("literal over TLS: %d %v", n, err)
	}
	cl.until("a2 OK")
	write("a3 LOGOUT")
	cl.until("a3 OK")
	c.Close()
}

func TestSTARTTLSSplice(t *testing.T) {
	e, _ := tlsEnv(t)
	c := e.dial()
	if g := c.line(); !strings.Contains(g, "STARTTLS") || !strings.Contains(g, "LOGINDISABLED") {
		t.Fatalf("greeting %q", g)
	}
	c.do("s1 LOGIN alice alicepw", "s1 NO [PRIVACYREQUIRED]")
	c.do("s2 STARTTLS", "s2 OK")
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(waitMax))
	fetchOverTLS(t, tc, bufio.NewReader(tc))
	e.waitLog("login user alice", "S->C bytes", "session end")
}

func TestImplicitTLSSplice(t *testing.T) {
	e, addr := tlsEnv(t)
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(waitMax))
	r := bufio.NewReader(tc)
	if g, _ := r.ReadString('\n'); !strings.HasPrefix(g, "* OK") || strings.Contains(g, "STARTTLS") {
		t.Fatalf("greeting %q", g)
	}
	fetchOverTLS(t, tc, r)
	e.waitLog("login user alice", "S->C bytes", "session end")
}
