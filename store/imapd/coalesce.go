package imapd

import (
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The library's wire encoder flushes its buffer after every response line,
// so a `UID FETCH 1:* (FLAGS)` over a million messages costs a million
// write(2) calls. coalescingConn sits under the library (and under TLS)
// and gathers those writes: bytes are held until the server next reads
// from the client (it has answered and waits for the next command), the
// buffer reaches coalesceMax, or flushDelay passes (unilateral updates
// during IDLE, when nobody reads). A tagged response therefore reaches the
// client no later than the server's next read, which follows it at once.
//
// The library also sets a write deadline before and clears it after every
// response; on a socket each call re-arms a runtime timer, which cost a
// quarter of the time of a large FETCH. Deadlines are therefore recorded
// and given to the socket only when bytes are really written: every write
// to the socket happens under the deadline last asked for, as before.
type coalescingConn struct {
	net.Conn
	mu      sync.Mutex
	buf     []byte
	timer   *time.Timer
	pending bool          // the timer is armed
	err     error         // a failed delayed write, returned by the next call
	delay   time.Duration // flushDelay; tests lengthen it
	wdl     atomic.Int64  // the write deadline last asked for (deadlineNanos)
	applied int64         // the write deadline the socket has (deadlineNanos)
}

const (
	coalesceMax = 64 << 10
	flushDelay  = time.Millisecond
	// keepBuf is the largest buffer kept across flushes; idle sessions
	// hold no more.
	keepBuf = 8 << 10
)

func newCoalescingConn(c net.Conn) *coalescingConn {
	return &coalescingConn{Conn: c, delay: flushDelay}
}

// Write buffers p; a p larger than the buffer goes straight out after
// what is buffered.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.buf)+len(p) > coalesceMax {
		if err := c.flushLocked(true); err != nil {
			return 0, err
		}
		if len(p) >= coalesceMax {
			if err := c.applyDeadlineLocked(); err != nil {
				return 0, err
			}
			return c.Conn.Write(p)
		}
	}
	c.buf = append(c.buf, p...)
	if !c.pending {
		c.pending = true
		if c.timer == nil {
			c.timer = time.AfterFunc(c.delay, c.timerFlush)
		} else {
			c.timer.Reset(c.delay)
		}
	}
	return len(p), nil
}

// Read sends what is buffered, then reads.
func (c *coalescingConn) Read(p []byte) (int, error) {
	if err := c.Flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// Close sends what is buffered (a BYE, say), then closes.
func (c *coalescingConn) Close() error {
	c.Flush()
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// Flush writes the buffered bytes now.
func (c *coalescingConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked(false)
}

func (c *coalescingConn) timerFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = false
	// Much to send: a burst (a large FETCH) is likely still going on.
	c.flushLocked(len(c.buf) > keepBuf)
}

// flushLocked writes the buffer out. keep (a burst that filled the
// buffer) keeps it for the next bytes; otherwise (the server is done for
// now) a large buffer is dropped.
func (c *coalescingConn) flushLocked(keep bool) error {
	if c.err != nil {
		return c.err
	}
	if len(c.buf) == 0 {
		return nil
	}
	if c.pending && c.timer.Stop() {
		c.pending = false
	}
	err := c.applyDeadlineLocked()
	if err == nil {
		_, err = c.Conn.Write(c.buf)
	}
	if cap(c.buf) > keepBuf && !keep {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
	c.err = err
	return err
}

// SetWriteDeadline records t for the next write to the socket. It takes
// no lock: the library calls it twice per response line.
func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(deadlineNanos(t))
	return nil
}

// SetDeadline sets the read deadline now and records the write deadline.
func (c *coalescingConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

// applyDeadlineLocked gives the socket the recorded write deadline.
func (c *coalescingConn) applyDeadlineLocked() error {
	d := c.wdl.Load()
	if d == c.applied {
		return nil
	}
	var t time.Time
	if d != 0 {
		t = time.Unix(0, d)
	}
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	c.applied = d
	return nil
}

// deadlineNanos is t in Unix nanoseconds, 0 for none (the zero time);
// times outside what that can hold are clamped, still in the past or
// the far future.
func deadlineNanos(t time.Time) int64 {
	switch sec := t.Unix(); {
	case t.IsZero():
		return 0
	case sec <= 0:
		return 1
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}
