package relay

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// wait bounds every blocking step of a test.
const wait = 20 * time.Second

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (a, b *net.TCPConn) { return tcpPairBuf(t, 0) }

// tcpPairBuf is tcpPair with the dialling end's SO_RCVBUF set before it
// connects (set later, the window collapses and TCP backs off for seconds).
func tcpPairBuf(t testing.TB, rcvbuf int) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan *net.TCPConn, 1)
	go func() {
		ln.SetDeadline(time.Now().Add(wait))
		c, _ := ln.AcceptTCP()
		ch <- c
	}()
	d := net.Dialer{Timeout: wait}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
		}
	}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a = c.(*net.TCPConn)
	b = <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// rig is one relayed session: the test plays the client and the server.
type rig struct {
	client, server *net.TCPConn // the peers' ends
	res            chan Result
}

// newRig relays a new session; clientRcvbuf > 0 sets the client's SO_RCVBUF.
func newRig(t testing.TB, e *Engine, idle time.Duration, clientRcvbuf int) *rig {
	t.Helper()
	cPeer, cIn := tcpPairBuf(t, clientRcvbuf)
	sIn, sPeer := tcpPair(t)
	r := &rig{client: cPeer, server: sPeer, res: make(chan Result, 1)}
	for _, c := range []*net.TCPConn{cPeer, sPeer} {
		c.SetDeadline(time.Now().Add(wait))
	}
	if err := e.Add(cIn, sIn, idle, func(res Result) { r.res <- res }); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) result(t testing.TB) Result {
	t.Helper()
	select {
	case res := <-r.res:
		return res
	case <-time.After(wait):
		t.Fatal("session never ended")
	}
	return Result{}
}

func newEngine(t testing.TB) *Engine {
	e := New(Options{Loops: 2})
	t.Cleanup(func() { e.Close() })
	return e
}

func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed)})
	r.Read(b)
	return b
}

// send writes data then half-closes; recv reads to EOF and returns the hash.
func send(c *net.TCPConn, data []byte, errs chan<- error) {
	_, err := c.Write(data)
	if err == nil {
		err = c.CloseWrite()
	}
	errs <- err
}

func recvHash(c *net.TCPConn, out *[32]byte, n *int64, errs chan<- error) {
	h := sha256.New()
	m, err := io.Copy(h, c)
	copy(out[:], h.Sum(nil))
	*n = m
	errs <- err
}

func TestLargeTransferBothWays(t *testing.T) {
	e := newEngine(t)
	r := newRig(t, e, 0, 0)
	up, down := random(24<<20+7, 1), random(40<<20+3, 2)
	errs := make(chan error, 4)
	var gotUp, gotDown [32]byte
	var nUp, nDown int64
	go send(r.client, up, errs)
	go send(r.server, down, errs)
	go recvHash(r.server, &gotUp, &nUp, errs)
	go recvHash(r.client, &gotDown, &nDown, errs)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if gotUp != sha256.Sum256(up) || gotDown != sha256.Sum256(down) {
		t.Fatalf("corrupted: %d/%d bytes up, %d/%d down", nUp, len(up), nDown, len(down))
	}
	res := r.result(t)
	if res.C2S != int64(len(up)) || res.S2C != int64(len(down)) || len(res.Errs) != 0 || res.FirstEOF == "" {
		t.Fatalf("result %+v", res)
	}
}

// TestHalfClose: each side closes its write half first; the other
// direction keeps working.
func TestHalfClose(t *testing.T) {
	for _, first := range []string{"client", "server"} {
		t.Run(first, func(t *testing.T) {
			e := newEngine(t)
			r := newRig(t, e, 0, 0)
			closer, other := r.client, r.server
			if first == "server" {
				closer, other = r.server, r.client
			}
			closer.Write([]byte("bye\n"))
			closer.CloseWrite()
			b, err := io.ReadAll(other)
			if err != nil || string(b) != "bye\n" {
				t.Fatalf("read %q, %v", b, err)
			}
			// The other way still flows after the half-close.
			msg := random(3<<20, 3)
			go func() { other.Write(msg); other.CloseWrite() }()
			got, err := io.ReadAll(closer)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("after half-close: %d bytes, %v", len(got), err)
			}
			res := r.result(t)
			c2s, s2c := int64(4), int64(len(msg))
			if first == "server" {
				c2s, s2c = s2c, c2s
			}
			if res.FirstEOF != first || res.C2S != c2s || res.S2C != s2c || len(res.Errs) != 0 {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// TestReset: a reset from either side, idle or in the middle of a
// transfer towards it, is that side's ECONNRESET.
func TestReset(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		for _, busy := range []bool{false, true} {
			name := side + "/idle"
			if busy {
				name = side + "/busy"
			}
			t.Run(name, func(t *testing.T) {
				e := newEngine(t)
				r := newRig(t, e, 0, 0)
				victim, other := r.client, r.server
				if side == "server" {
					victim, other = r.server, r.client
				}
				if busy {
					go func() { // bounded: the write fails once the relay closes
						buf := make([]byte, 64<<10)
						for i := 0; i < 4096; i++ {
							if _, err := other.Write(buf); err != nil {
								return
							}
						}
					}()
					if _, err := io.CopyN(io.Discard, victim, 1<<20); err != nil {
						t.Fatal(err)
					}
				}
				victim.SetLinger(0)
				victim.Close()
				res := r.result(t)
				if len(res.Errs) != 1 || res.Errs[0].Side != side || res.Errs[0].Errno != syscall.ECONNRESET {
					t.Fatalf("result %+v", res)
				}
				// The relay closed the other side too.
				if _, err := io.Copy(io.Discard, other); err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("other side: %v", err)
				}
			})
		}
	}
}

// TestSlowDestination: the client reads slowly through a small receive
// buffer, so the relay holds pending bytes and waits for EPOLLOUT.
func TestSlowDestination(t *testing.T) {
	e := New(Options{Loops: 1})
	defer e.Close()
	r := newRig(t, e, 0, 4096)
	msg := random(4<<20, 4)
	errs := make(chan error, 1)
	go send(r.server, msg, errs)
	var got []byte
	buf := make([]byte, 8<<10)
	for i := 0; i < 1<<20; i++ {
		n, err := r.client.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%64 == 0 && i < 64*100 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes, want %d, or corrupted", len(got), len(msg))
	}
	r.client.CloseWrite()
	res := r.result(t)
	e.Close()
	if res.S2C != int64(len(msg)) || len(res.Errs) != 0 {
		t.Fatalf("result %+v", res)
	}
	if e.loops[0].stalls == 0 {
		t.Fatal("destination never full: the EPOLLOUT path was not exercised")
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEngine(t)
	r := newRig(t, e, 100*time.Millisecond, 0)
	r.client.Write([]byte("x"))
	res := r.result(t)
	if !res.Idle || res.C2S != 1 || len(res.Errs) != 0 {
		t.Fatalf("result %+v", res)
	}
	if b, err := io.ReadAll(r.client); err != nil || len(b) != 0 {
		t.Fatalf("client after idle end: %q %v", b, err)
	}
}

// TestCloseDuringTransfer: Close ends sessions mid-transfer and refuses
// new ones.
func TestCloseDuringTransfer(t *testing.T) {
	e := New(Options{})
	r := newRig(t, e, 0, 0)
	go func() {
		buf := make([]byte, 64<<10)
		for i := 0; i < 1<<16; i++ {
			if _, err := r.server.Write(buf); err != nil {
				return
			}
		}
	}()
	if _, err := io.CopyN(io.Discard, r.client, 2<<20); err != nil {
		t.Fatal(err)
	}
	e.Close()
	res := r.result(t)
	if !res.Cancelled || res.S2C < 2<<20 {
		t.Fatalf("result %+v", res)
	}
	io.Copy(io.Discard, r.client) // ends: the relay closed it
	a, b := tcpPair(t)
	if err := e.Add(a, b, 0, func(Result) { t.Error("done after Close") }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}

// TestManySessions: sessions at once, each an echo of random size both ways.
func TestManySessions(t *testing.T) {
	e := newEngine(t)
	const n = 200
	var wg sync.WaitGroup
	fails := make(chan string, n)
	for i := range n {
		r := newRig(t, e, 0, 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := random(1000+i*997, uint64(i))
			go func() { // the server echoes
				io.Copy(r.server, r.server)
				r.server.CloseWrite()
			}()
			go func() { r.client.Write(msg); r.client.CloseWrite() }()
			got, err := io.ReadAll(r.client)
			if err != nil || !bytes.Equal(got, msg) {
				fails <- "echo corrupted"
				return
			}
			res := r.result(t)
			if res.C2S != int64(len(msg)) || res.S2C != int64(len(msg)) || res.FirstEOF != "client" {
				fails <- "bad result"
			}
		}()
	}
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Fatal(f)
	}
}

// TestLoopParksInPoller: a loop with nothing to do waits in Go's poller
// ("IO wait"), not in a blocking epoll_wait(2) ("syscall"), which would
// hold one of the GOMAXPROCS Ps and delay every other goroutine until the
// runtime took it back (measured: the relay moved 20% fewer bytes/s).
func TestLoopParksInPoller(t *testing.T) {
	e := New(Options{Loops: 1})
	t.Cleanup(func() { e.Close() })
	r := newRig(t, e, 0, 0)
	if _, err := r.client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	if _, err := io.ReadFull(r.server, b[:]); err != nil {
		t.Fatal(err)
	}
	var state string
	for i := 0; i < 200; i++ { // the loop may still be busy for a moment
		state = loopState()
		if state == "IO wait" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("idle loop goroutine state %q, want \"IO wait\"", state)
}

// loopState is the scheduler state of the (one) loop goroutine, as a
// goroutine dump shows it ("" if none).
func loopState() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if !bytes.Contains(g, []byte("relay.(*loop).run(")) {
			continue
		}
		head, _, _ := bytes.Cut(g, []byte("\n"))
		_, st, _ := bytes.Cut(head, []byte("["))
		st, _, _ = bytes.Cut(st, []byte("]"))
		st, _, _ = bytes.Cut(st, []byte(","))
		return string(st)
	}
	return ""
}
