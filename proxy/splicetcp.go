package proxy

import (
	"errors"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// copyTCP copies src to dst, both plain TCP, with splice(2), holding a
// splice pipe only while bytes are moving. io.Copy alone would do the
// same zero-copy transfer but keeps its pipe (two more descriptors) for
// the whole session, idle or not: at 10,000 idle sessions that is 40,000
// descriptors. So: wait until src is readable (peek, no data copied),
// then io.CopyN exactly the bytes queued (SIOCINQ); io.CopyN between two
// *net.TCPConn is still splice(2). Returns the bytes copied and nil at
// EOF.
func copyTCP(dst, src *net.TCPConn) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		avail, eof, err := waitReadable(rc)
		if err != nil || eof {
			return total, err
		}
		n, err := io.CopyN(dst, src, int64(avail))
		total += n
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// waitReadable blocks (in the runtime poller, no thread) until the socket
// has data or is at EOF or in error, and returns the bytes queued.
func waitReadable(rc interface {
	Read(func(uintptr) bool) error
}) (avail int, eof bool, err error) {
	var peekErr error
	var b [1]byte
	rerr := rc.Read(func(fd uintptr) bool {
		for {
			n, _, e := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return false // not readable yet: wait in the poller
			case e != nil:
				peekErr = os.NewSyscallError("recvfrom", e)
			case n == 0:
				eof = true
			default:
				avail, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
				avail = max(avail, 1)
			}
			return true
		}
	})
	if rerr != nil {
		return 0, false, rerr
	}
	return avail, eof, peekErr
}
