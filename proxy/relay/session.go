package relay

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sides and directions: fd[client] is the client socket; dir[client] is
// client->server (it reads fd[client] and writes fd[server]).
const (
	client = 0
	server = 1
)

var sideNames = [2]string{"client", "server"}

// pipe is a splice pipe's two ends.
type pipe struct{ r, w int32 }

// direction is one way of a session.
type direction struct {
	pipe    pipe  // valid while pending > 0
	pending int32 // bytes in pipe, not yet accepted by the destination
	done    bool  // source reached EOF (destination half-closed)
	n       int64 // bytes delivered
}

// session is one relayed pair; touched only by its loop.
type session struct {
	fd         [2]int32
	registered [2]bool // fd in the epoll set
	dir        [2]direction
	errno      [2]syscall.Errno
	errSet     [2]bool
	firstEOF   int8 // side+1 that reached EOF first, 0 if none
	idleEnd    bool
	cancelled  bool
	ended      bool
	last       int64 // loop clock when bytes last moved
	idle       int64 // idle timeout in ns, 0 none
	done       func(Result)
}

// fail records an error of side x (one per side; anything replaces an
// earlier EPIPE, the echo of a reset).
func (s *session) fail(x int, errno syscall.Errno) {
	if s.errSet[x] && !(s.errno[x] == unix.EPIPE && errno != unix.EPIPE && errno != 0) {
		return
	}
	s.errSet[x] = true
	s.errno[x] = errno
}

func (s *session) failed() bool { return s.errSet[0] || s.errSet[1] }

// finished reports whether the session is over.
func (s *session) finished() bool {
	return s.failed() || s.idleEnd || s.cancelled || s.dir[0].done && s.dir[1].done
}

func (s *session) closeFDs() {
	unix.Close(int(s.fd[0]))
	unix.Close(int(s.fd[1]))
}

func (s *session) result() Result {
	r := Result{C2S: s.dir[client].n, S2C: s.dir[server].n, Idle: s.idleEnd, Cancelled: s.cancelled}
	if s.firstEOF > 0 {
		r.FirstEOF = sideNames[s.firstEOF-1]
	}
	for x := range 2 {
		if s.errSet[x] {
			var err error = errNoPipe
			if s.errno[x] != 0 {
				err = os.NewSyscallError("splice", s.errno[x])
			}
			r.Errs = append(r.Errs, SideError{Side: sideNames[x], Errno: s.errno[x], Err: err})
		}
	}
	return r
}
