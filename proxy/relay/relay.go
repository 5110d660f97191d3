// Package relay moves bytes between pairs of plain TCP sockets with
// epoll(7) and splice(2), with no goroutine per session: an idle session
// costs its two sockets, a struct of about a hundred bytes and two map
// entries.
//
// # Design
//
// An Engine runs N event loops (Options.Loops, default GOMAXPROCS), a
// goroutine each, started by the first Add. Each loop owns an epoll
// instance, an eventfd to be woken with, a table of its sessions by
// descriptor (two entries per session) and a small pool of idle pipes.
// Add duplicates both sockets' descriptors out of Go's poller (the
// duplicate shares the open file description, so it stays non-blocking),
// closes the originals, and queues the pair to a loop, round robin.
//
// A loop waits in Go's own poller, not in a blocking epoll_wait(2): its
// epoll descriptor is non-blocking and registered with the runtime (an
// *os.File), and the loop collects events with epoll_wait(2) at timeout 0
// when the runtime reports it readable; the idle sweep is the file's read
// deadline. A goroutine blocked in a system call keeps its P until the
// runtime's monitor takes it back, which on a two-core machine delayed
// the other goroutines (the fake store, the client) enough to cost a
// fifth of the relay's bytes/s.
//
// Epoll is edge-triggered: each socket is registered once with
// EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET and never modified, so moving bytes
// costs no epoll_ctl. A direction therefore moves bytes until its source
// answers EAGAIN, its destination answers EAGAIN (then EPOLLOUT on the
// destination resumes it: TCP reports writability only after a write was
// refused), or it reaches EOF; for fairness between sessions it stops
// after a few pipe loads and goes on after the current batch of events.
// Readability of a source whose bytes are held back by a full
// destination is ignored: the flush on EPOLLOUT reads on.
//
// On readiness a direction moves bytes with splice(2): source socket to a
// pipe taken from the pool, pipe to destination socket. The pipe goes back
// to the pool as soon as it is empty; when the destination answers EAGAIN
// the pipe stays with the direction, holding the pending bytes, until
// EPOLLOUT. Bytes are counted as the destination accepts them.
//
// EOF on a source half-closes the destination (shutdown SHUT_WR); the
// session ends when both directions have reached EOF, or at the first
// error, which is attributed to the socket the failing splice read or
// wrote (the pipe is never the culprit), with its errno. Both sockets are
// then closed and Add's done callback runs on a goroutine of its own,
// exactly once per Add.
//
// Idle sessions: each loop stamps a session with a coarse clock (read once
// per wake-up) when bytes move, and sweeps its table every tick (an eighth
// of the shortest idle timeout seen, 5ms to 1s); no per-session timer.
// Close ends every session (Result.Cancelled) and stops the loops.
//
// Invariants: a session's state is touched only by its loop's goroutine;
// the only state shared with other goroutines is each loop's add queue and
// closed flag, under loop.mu, which is never held across a syscall other
// than the eventfd write.
package relay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("relay: engine closed")

// Options configure an Engine; zero values are the documented defaults.
type Options struct {
	Loops     int // event loops; default runtime.GOMAXPROCS(0)
	IdlePipes int // idle pipes kept per loop; default 4
}

// SideError is a socket error attributed to one side of a session.
type SideError struct {
	Side  string        // "client" or "server"
	Errno syscall.Errno // 0 if the error is the proxy's own (e.g. no pipe)
	Err   error
}

// Result is how a session ended.
type Result struct {
	C2S, S2C  int64       // bytes delivered each way
	Errs      []SideError // at most one per side
	FirstEOF  string      // the side that closed first ("" if none)
	Idle      bool        // ended by the idle timeout
	Cancelled bool        // ended by Close
}

// Engine relays sessions. Safe for concurrent use.
type Engine struct {
	opts    Options
	once    sync.Once
	loops   []*loop
	initErr error
	next    atomic.Uint32
	closed  atomic.Bool
	wg      sync.WaitGroup
}

// New returns an Engine; its loops start with the first Add.
func New(o Options) *Engine {
	if o.Loops <= 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	if o.IdlePipes <= 0 {
		o.IdlePipes = 4
	}
	return &Engine{opts: o}
}

func (e *Engine) start() {
	for i := 0; i < e.opts.Loops; i++ {
		l, err := newLoop(e.opts.IdlePipes)
		if err != nil {
			e.initErr = err
			for _, l := range e.loops {
				l.close()
			}
			e.loops = nil
			return
		}
		e.loops = append(e.loops, l)
	}
	for _, l := range e.loops {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			l.run()
		}()
	}
}

// Add relays client<->server until both directions reach EOF, an error,
// the idle timeout (0: none) or Close, then calls done once, on a new
// goroutine. On success the engine owns the sockets: client and server
// are closed (their descriptors were duplicated). On an error neither
// conn has been touched and done is not called.
func (e *Engine) Add(client, server *net.TCPConn, idle time.Duration, done func(Result)) error {
	if e.closed.Load() {
		return ErrClosed
	}
	e.once.Do(e.start)
	if e.initErr != nil {
		return e.initErr
	}
	cfd, err := dupFD(client)
	if err != nil {
		return fmt.Errorf("relay: client socket: %w", err)
	}
	sfd, err := dupFD(server)
	if err != nil {
		unix.Close(cfd)
		return fmt.Errorf("relay: server socket: %w", err)
	}
	client.Close()
	server.Close()
	s := &session{fd: [2]int32{int32(cfd), int32(sfd)}, idle: int64(idle), done: done}
	l := e.loops[int(e.next.Add(1))%len(e.loops)]
	if !l.enqueue(s) {
		s.cancelled = true
		s.closeFDs()
		go done(s.result())
	}
	return nil
}

// Close ends every session (Result.Cancelled) and stops the loops; it
// returns when they have stopped. Later Adds return ErrClosed.
func (e *Engine) Close() error {
	e.closed.Store(true)
	e.once.Do(func() {}) // no loops after Close
	for _, l := range e.loops {
		l.stop()
	}
	e.wg.Wait()
	return nil
}

// dupFD duplicates c's socket (close-on-exec); the duplicate shares the
// open file description, so it is non-blocking like c.
func dupFD(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	return nfd, nil
}
