package imapd

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"sync"
	"testing"
	"time"
)

// countConn records the writes that reach the socket.
type countConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	data   bytes.Buffer
	closed bool
}

func (c *countConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.data.Write(p)
}
func (c *countConn) Read(p []byte) (int, error) { return 0, nil }
func (c *countConn) Close() error               { c.mu.Lock(); c.closed = true; c.mu.Unlock(); return nil }
func (c *countConn) snapshot() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, c.data.String()
}

func TestCoalescingConn(t *testing.T) {
	under := &countConn{}
	c := newCoalescingConn(under)
	c.delay = time.Hour // only reads, size and Close flush in this part
	var want bytes.Buffer
	for i := 0; i < 1000; i++ {
		line := []byte("* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n")
		want.Write(line)
		if _, err := c.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	// A read (the server waiting for the next command) sends everything.
	c.Read(make([]byte, 1))
	n, got := under.snapshot()
	if got != want.String() {
		t.Fatalf("bytes differ: %d vs %d", len(got), want.Len())
	}
	if n > 2 {
		t.Fatalf("%d writes reached the socket for 1000 lines; want 1 (or 2 at the buffer limit)", n)
	}

	// A large write goes straight through, after what is buffered, in order.
	c.Write([]byte("a"))
	big := bytes.Repeat([]byte("b"), coalesceMax+1)
	c.Write(big)
	c.Flush()
	_, got = under.snapshot()
	if !bytes.HasSuffix([]byte(got), append([]byte("a"), big...)) {
		t.Fatal("large write out of order")
	}

	// Nobody reads (IDLE updates): the timer sends within a bounded wait.
	c.delay = flushDelay
	before, _ := under.snapshot()
	c.Write([]byte("* 3 EXISTS\r\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, got := under.snapshot()
		if n > before && bytes.HasSuffix([]byte(got), []byte("* 3 EXISTS\r\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("buffered update never sent without a read")
		}
		time.Sleep(time.Millisecond)
	}

	// Close sends what is buffered (a BYE) before closing.
	c.Write([]byte("* BYE\r\n"))
	c.Close()
	_, got = under.snapshot()
	if !bytes.HasSuffix([]byte(got), []byte("* BYE\r\n")) || !under.closed {
		t.Fatal("BYE lost at Close")
	}
}

// TestCoalescingDeadline: per-response deadlines reach the socket only
// when bytes are written, and every write happens under the deadline last
// asked for.
func TestCoalescingDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	c := newCoalescingConn(srv)
	c.delay = time.Hour
	defer c.Close()

	// A deadline in the past makes the buffered write fail at flush.
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("* OK\r\n")); err != nil {
		t.Fatalf("buffered write: %v", err)
	}
	c.SetWriteDeadline(time.Now().Add(-time.Second)) // still past at flush
	err = c.Flush()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("flush under a past deadline: %v, want a timeout", err)
	}

	// A fresh connection: deadlines set and cleared per line, then a
	// flush with the deadline cleared, delivers everything.
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client2.Close()
	srv2 := <-accepted
	if srv2 == nil {
		t.Fatal("accept failed")
	}
	c2 := newCoalescingConn(srv2)
	c2.delay = time.Hour
	defer c2.Close()
	var want bytes.Buffer
	for i := 0; i < 100; i++ {
		c2.SetWriteDeadline(time.Now().Add(time.Minute))
		line := []byte("* 1 FETCH (FLAGS ())\r\n")
		want.Write(line)
		if _, err := c2.Write(line); err != nil {
			t.Fatal(err)
		}
		c2.SetWriteDeadline(time.Time{})
	}
	if err := c2.Flush(); err != nil {
		t.Fatal(err)
	}
	client2.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(client2, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes differ")
	}
}

// TestCoalescingKeepsBurstBuffer: a burst reuses its buffer across the
// flushes the size limit forces; the read that ends it drops a large one.
func TestCoalescingKeepsBurstBuffer(t *testing.T) {
	under := &countConn{}
	c := newCoalescingConn(under)
	c.delay = time.Hour
	line := bytes.Repeat([]byte("x"), 100)
	for i := 0; i < 2*coalesceMax/len(line); i++ {
		c.Write(line)
	}
	if n, _ := under.snapshot(); n == 0 {
		t.Fatal("the size limit forced no write")
	}
	if cap(c.buf) <= keepBuf {
		t.Fatalf("buffer of %d bytes after a forced flush: the burst's buffer was dropped", cap(c.buf))
	}
	c.Read(make([]byte, 1))
	if cap(c.buf) > keepBuf {
		t.Fatalf("buffer of %d bytes kept after the burst", cap(c.buf))
	}
}

func TestDeadlineNanos(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Time{}, 0},
		{time.Unix(-5, 0), 1},
		{time.Unix(0, 0), 1},
		{now, now.UnixNano()},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	} {
		if got := deadlineNanos(tc.t); got != tc.want {
			t.Errorf("deadlineNanos(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
