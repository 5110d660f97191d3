package proxy

import (
	"io"
	"strings"
	"testing"
	"time"

	"msgplex/config"
	"msgplex/internal/splicerelay"
)

func goroutineEngine(c *config.Proxy) { c.SpliceEngine = "goroutines" }

// TestGoroutineEngine: the goroutine engine (proxy.spliceengine =
// "goroutines") still half-closes and attributes a store reset.
func TestGoroutineEngine(t *testing.T) {
	e := newEnv(t, goroutineEngine)
	c := e.loginAlice()
	c.send("a2 NOOP")
	c.c.CloseWrite()
	c.until("a2 OK")
	if _, err := c.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after half-close: %v", err)
	}
	e.waitLog("client socket closed by peer", "session end")

	c = e.loginAlice()
	c.send("a2 RESET")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("connection survived the store's reset")
	}
	e.waitLog("server socket IO error 104 (connection reset by peer)")
}

func TestSpliceEngineConfig(t *testing.T) {
	for _, v := range []string{"bogus", "EPOLL"} {
		c := config.Default().Proxy
		c.SpliceEngine = v
		if _, err := New(Options{Config: c, Directory: &fakeDir{}}); err == nil || !strings.Contains(err.Error(), "spliceengine") {
			t.Errorf("proxy.spliceengine %q: %v", v, err)
		}
	}
}

// TestRelayedSessionEnd: a session on the relay engine keeps its
// connection slot until it ends, then frees it and logs its bytes.
func TestRelayedSessionEnd(t *testing.T) {
	e := newEnv(t, func(c *config.Proxy) { c.ConnLimits = 1 })
	c := e.loginAlice()
	c.do("a2 NOOP", "a2 OK")
	if n := e.srv.ActiveSessions(); n != 1 {
		t.Fatalf("%d active sessions, want 1", n)
	}
	d := e.dial()
	if l := d.line(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
		t.Fatalf("second connection while the relayed one runs: %q", l)
	}
	c.do("a3 LOGOUT", "a3 OK")
	if _, err := c.r.ReadString('\n'); err != io.EOF { // the store's FIN, passed on
		t.Fatalf("after LOGOUT: %v", err)
	}
	c.c.Close()
	log := e.waitLog("server socket closed by peer", "C->S bytes", "session end")
	if !strings.Contains(log, " 20 C->S bytes") { // "a2 NOOP\r\n", "a3 LOGOUT\r\n"
		t.Errorf("C->S count:\n%s", log)
	}
	for i := 0; e.srv.ActiveSessions() != 0; i++ {
		if i > 500 {
			t.Fatal("relayed session never released")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkSpliceEngines: bytes/s of a 64 MiB literal from the fake store
// to the client through a plain io.Copy relay and through the proxy with
// each splice engine.
func BenchmarkSpliceEngines(b *testing.B) {
	for _, engine := range []string{"splice-relay", "epoll", "goroutines"} {
		b.Run(engine, func(b *testing.B) {
			e := newEnv(b, func(c *config.Proxy) {
				if engine != "splice-relay" {
					c.SpliceEngine = engine
				}
			})
			addr, login := e.addr, func(bc *benchConn) {
				bc.r.ReadString('\n')
				bc.send(b, "l LOGIN alice alicepw")
				bc.until(b, "l")
			}
			if engine == "splice-relay" {
				addr, login = splicerelay.Start(b, e.store.Addr()), func(bc *benchConn) { bc.storeLogin(b, "alice") }
			}
			bc := benchDial(b, addr)
			defer bc.c.Close()
			login(bc)
			b.SetBytes(transferSize)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bc.fetch(b)
			}
		})
	}
}
