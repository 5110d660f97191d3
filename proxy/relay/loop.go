package relay

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	maxChunk   = 1 << 20 // bytes per splice(2) and pipe size, as Go's own splice
	maxRounds  = 16      // pipe fills per direction per wake-up (fairness)
	maxEvents  = 256     // per epoll_wait
	tickMax    = time.Second
	tickMin    = 5 * time.Millisecond
	spliceFlag = unix.SPLICE_F_MOVE | unix.SPLICE_F_NONBLOCK
	// interest: registered once per socket, edge-triggered, never changed.
	interest = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
)

var errNoPipe = errors.New("relay: no splice pipe")

// ready is a direction of a session with bytes still to move.
type ready struct {
	s *session
	d int8
}

// loop is one event loop.
type loop struct {
	epfd, evfd int
	epf        *os.File           // epfd in Go's poller: the loop parks there, not in a syscall
	rc         syscall.RawConn    // epf's; nil: block in epoll_wait instead
	pollFn     func(uintptr) bool // l.poll, made once
	events     []unix.EpollEvent
	n          int                // events[:n] are the last epoll_wait's
	sessions   map[int32]*session // by fd, two entries per session
	pipes      []pipe             // idle, each empty
	maxPipes   int
	base       time.Time
	now        int64         // ns since base, read once per wake-up
	tick       time.Duration // idle sweep period
	nextSweep  int64
	deadline   int64   // nextSweep as last set on epf
	stalls     int64   // destination answered EAGAIN with bytes pending (tests)
	again      []ready // directions to go on pumping before the next wait

	mu     sync.Mutex
	queue  []*session
	closed bool
}

func newLoop(maxPipes int) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("relay: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("relay: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("relay: epoll_ctl eventfd: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("relay: epoll fd: %w", err)
	}
	l := &loop{epfd: epfd, evfd: evfd, sessions: map[int32]*session{}, maxPipes: maxPipes,
		base: time.Now(), tick: tickMax}
	l.epf = os.NewFile(uintptr(epfd), "epoll")
	return l, nil
}

// close releases the loop's descriptors (it must not be running).
func (l *loop) close() {
	for _, p := range l.pipes {
		unix.Close(int(p.r))
		unix.Close(int(p.w))
	}
	l.pipes = nil
	l.epf.Close() // closes epfd
	unix.Close(l.evfd)
}

// enqueue hands s to the loop; false if the loop has stopped.
func (l *loop) enqueue(s *session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.queue = append(l.queue, s)
	l.wake()
	return true
}

func (l *loop) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.wake()
}

func (l *loop) wake() {
	one := [8]byte{1}
	unix.Write(l.evfd, one[:]) // EAGAIN: the counter is already non-zero
}

// run serves events until stop; then it cancels every session.
func (l *loop) run() {
	defer l.close()
	l.events = make([]unix.EpollEvent, maxEvents)
	l.pollFn = l.poll
	if rc, err := l.epf.SyscallConn(); err == nil && l.epf.SetReadDeadline(time.Time{}) == nil {
		l.rc = rc // pollable: park in the runtime's poller
	}
	l.nextSweep = int64(l.tick)
	for {
		n := l.wait()
		l.now = int64(time.Since(l.base))
		for _, ev := range l.events[:n] {
			if ev.Fd == int32(l.evfd) {
				if l.drainQueue() {
					l.cancelAll()
					return
				}
				continue
			}
			if s := l.sessions[ev.Fd]; s != nil {
				l.handle(s, ev.Fd, ev.Events)
			}
		}
		l.runAgain()
		if l.now >= l.nextSweep {
			l.sweep()
			l.nextSweep = l.now + int64(l.tick)
		}
	}
}

// wait returns the next batch of events in l.events[:n], parking the
// goroutine in Go's poller (not in a blocking syscall, which would hold a
// P) until there are some or the next sweep is due (then 0). With
// directions queued to go on it does not park. If the runtime cannot
// poll the epoll descriptor (never seen) it blocks in epoll_wait(2).
func (l *loop) wait() int {
	l.n = 0
	if len(l.again) > 0 {
		l.poll(0)
		return l.n
	}
	if l.rc != nil {
		if l.deadline != l.nextSweep {
			l.deadline = l.nextSweep
			l.epf.SetReadDeadline(l.base.Add(time.Duration(l.nextSweep)))
		}
		err := l.rc.Read(l.pollFn)
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return l.n
		}
		l.rc = nil // not pollable after all: block from now on
	}
	ms := max((l.nextSweep-int64(time.Since(l.base)))/int64(time.Millisecond), 1)
	l.epollWait(int(ms))
	return l.n
}

// poll collects ready events without blocking (the poller's callback):
// false, none yet.
func (l *loop) poll(uintptr) bool { return l.epollWait(0) > 0 }

func (l *loop) epollWait(ms int) int {
	for {
		n, err := unix.EpollWait(l.epfd, l.events, ms)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			panic(fmt.Sprintf("relay: epoll_wait: %v", err)) // EBADF/EINVAL: a bug
		}
		l.n = n
		return n
	}
}

// drainQueue registers queued sessions; true if the loop is stopping.
func (l *loop) drainQueue() bool {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	q, closed := l.queue, l.closed
	l.queue = nil
	l.mu.Unlock()
	for _, s := range q {
		l.register(s)
	}
	return closed
}

func (l *loop) register(s *session) {
	s.last = l.now
	if s.idle > 0 {
		if t := min(max(time.Duration(s.idle)/8, tickMin), tickMax); t < l.tick {
			l.tick = t
			l.nextSweep = min(l.nextSweep, l.now+int64(t))
		}
	}
	l.sessions[s.fd[0]] = s
	l.sessions[s.fd[1]] = s
	for x := range 2 {
		ev := unix.EpollEvent{Events: interest, Fd: s.fd[x]}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, int(s.fd[x]), &ev); err != nil {
			s.fail(x, errnoOf(err))
			l.end(s)
			return
		}
		s.registered[x] = true
	}
}

// handle serves readiness ev on fd, one of s's sockets.
func (l *loop) handle(s *session, fd int32, ev uint32) {
	x := client
	if fd == s.fd[server] {
		x = server
	}
	acted := false
	if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 && !s.dir[1-x].done && s.dir[1-x].pending > 0 {
		l.pumpMore(s, 1-x)
		acted = true
	}
	if !s.finished() && ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) != 0 &&
		!s.dir[x].done && s.dir[x].pending == 0 {
		l.pumpMore(s, x)
		acted = true
	}
	if !s.finished() && !acted && ev&unix.EPOLLERR != 0 {
		// An error on a socket with nothing to read or write (a reset
		// while the other direction was quiet): edge-triggered, it will
		// not be reported again, so end with it now.
		if errno, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR); err == nil && errno != 0 {
			s.fail(x, unix.Errno(errno))
		}
	}
	l.update(s)
}

// pumpMore pumps direction d and, if it stopped for fairness with bytes
// still to move (no EAGAIN seen: edge-triggered, no new event would
// come), queues it to go on after this round of events.
func (l *loop) pumpMore(s *session, d int) {
	if l.pump(s, d) {
		l.again = append(l.again, ready{s, int8(d)})
	}
}

// runAgain goes on with the directions pumpMore queued.
func (l *loop) runAgain() {
	q := l.again
	l.again = nil
	for _, r := range q {
		if s, d := r.s, int(r.d); !s.ended && !s.finished() && !s.dir[d].done {
			l.pumpMore(s, d)
			l.update(s)
		}
	}
	clear(q)
}

// update ends s if it is over.
func (l *loop) update(s *session) {
	if s.finished() {
		l.end(s)
	}
}

// pump moves bytes of direction d (source fd[d], destination fd[1-d])
// until the source is drained or the destination is full (EAGAIN), the
// direction ends, or maxRounds pipe loads have moved: then it returns true.
func (l *loop) pump(s *session, d int) (more bool) {
	dr := &s.dir[d]
	src, dst := int(s.fd[d]), int(s.fd[1-d])
	for range maxRounds {
		if dr.pending > 0 {
			n, err := spliceRetry(int(dr.pipe.r), dst, int(dr.pending))
			if n > 0 {
				dr.pending -= int32(n)
				dr.n += int64(n)
				s.last = l.now
			}
			if err == unix.EAGAIN {
				l.stalls++
				return false // wait for EPOLLOUT on dst
			}
			if err != nil {
				s.fail(1-d, errnoOf(err))
				return false
			}
			if dr.pending > 0 {
				continue
			}
			l.putPipe(dr.pipe)
		}
		p, err := l.getPipe()
		if err != nil {
			s.fail(d, 0)
			return false
		}
		n, err := spliceRetry(src, int(p.w), maxChunk)
		switch {
		case err == unix.EAGAIN:
			l.putPipe(p)
			return false
		case err != nil:
			l.putPipe(p)
			s.fail(d, errnoOf(err))
			return false
		case n == 0:
			l.putPipe(p)
			dr.done = true
			if s.firstEOF == 0 {
				s.firstEOF = int8(d + 1)
			}
			unix.Shutdown(dst, unix.SHUT_WR) // an error shows on dst's next event
			return false
		}
		dr.pipe, dr.pending = p, int32(n)
		s.last = l.now
	}
	return true
}

func spliceRetry(in, out, n int) (int, error) {
	for {
		m, err := unix.Splice(in, nil, out, nil, n, spliceFlag)
		if err != unix.EINTR {
			return int(m), err
		}
	}
}

// getPipe takes an empty pipe from the pool, or makes one.
func (l *loop) getPipe() (pipe, error) {
	if n := len(l.pipes); n > 0 {
		p := l.pipes[n-1]
		l.pipes = l.pipes[:n-1]
		return p, nil
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return pipe{}, err
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, maxChunk) // best effort
	return pipe{int32(fds[0]), int32(fds[1])}, nil
}

// putPipe returns an empty pipe to the pool, or closes it.
func (l *loop) putPipe(p pipe) {
	if len(l.pipes) < l.maxPipes {
		l.pipes = append(l.pipes, p)
		return
	}
	unix.Close(int(p.r))
	unix.Close(int(p.w))
}

// end closes s's sockets, frees its pipes and reports its result.
func (l *loop) end(s *session) {
	if s.ended {
		return
	}
	s.ended = true
	for x := range 2 {
		if dr := &s.dir[x]; dr.pending > 0 {
			unix.Close(int(dr.pipe.r)) // bytes inside: not reusable
			unix.Close(int(dr.pipe.w))
			dr.pending = 0
		}
		if l.sessions[s.fd[x]] == s {
			delete(l.sessions, s.fd[x])
		}
		if s.registered[x] {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, int(s.fd[x]), nil)
		}
	}
	s.closeFDs()
	go s.done(s.result())
}

// sweep ends sessions quiet for their idle timeout.
func (l *loop) sweep() {
	for fd, s := range l.sessions {
		if fd == s.fd[client] && s.idle > 0 && l.now-s.last >= s.idle {
			s.idleEnd = true
			l.end(s)
		}
	}
}

// cancelAll ends every session as cancelled (Close).
func (l *loop) cancelAll() {
	for fd, s := range l.sessions {
		if fd == s.fd[client] {
			s.cancelled = true
			l.end(s)
		}
	}
	l.mu.Lock()
	q := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, s := range q {
		s.cancelled = true
		s.closeFDs()
		go s.done(s.result())
	}
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}
