package benchstore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is a minimal IMAP client: it sends one tagged command at a time
// and reads the untagged responses up to the tagged one, skipping literal
// contents while counting their bytes.
type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

// ioTimeout bounds every command of the raw client.
const ioTimeout = 10 * time.Minute

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	rc := &rawConn{c: c, r: bufio.NewReaderSize(c, 1<<16)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	if !bytes.HasPrefix(line, []byte("* OK")) {
		c.Close()
		return nil, fmt.Errorf("greeting from %s: %q", addr, line)
	}
	return rc, nil
}

// dialLogin dials, logs in and, if mailbox is not empty, SELECTs it.
func dialLogin(addr, user, pass, mailbox string) (*rawConn, error) {
	rc, err := dialRaw(addr)
	if err != nil {
		return nil, err
	}
	if _, err := rc.cmd(fmt.Sprintf("LOGIN %s %s", quote(user), quote(pass)), nil); err != nil {
		rc.Close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	if mailbox != "" {
		if _, err := rc.cmd("SELECT "+quote(mailbox), nil); err != nil {
			rc.Close()
			return nil, fmt.Errorf("select %s as %s: %w", mailbox, user, err)
		}
	}
	return rc, nil
}

func quote(s string) string { return strconv.Quote(s) }

func (rc *rawConn) Close() error {
	rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(rc.c, "z LOGOUT\r\n")
	return rc.c.Close()
}

// cmd sends "<tag> <text>" and reads until the tagged reply. onLine, if
// not nil, sees each untagged line (without literal contents); literal
// bytes are discarded and counted. It returns the literal byte count, and
// an error unless the reply is OK.
func (rc *rawConn) cmd(text string, onLine func(line []byte)) (literalBytes int64, err error) {
	rc.tag++
	tag := fmt.Sprintf("t%d", rc.tag)
	rc.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := fmt.Fprintf(rc.c, "%s %s\r\n", tag, text); err != nil {
		return 0, fmt.Errorf("send %s: %w", tag, err)
	}
	prefix := []byte(tag + " ")
	for {
		line, err := rc.readLine()
		if err != nil {
			return literalBytes, fmt.Errorf("%s: %w", tag, err)
		}
		if n, ok := literalSize(line); ok {
			m, err := io.CopyN(io.Discard, rc.r, n)
			literalBytes += m
			if err != nil {
				return literalBytes, fmt.Errorf("%s: literal: %w", tag, err)
			}
		}
		if bytes.HasPrefix(line, prefix) {
			rest := line[len(prefix):]
			if !bytes.HasPrefix(rest, []byte("OK")) {
				return literalBytes, fmt.Errorf("%s: %s", text, bytes.TrimSpace(rest))
			}
			return literalBytes, nil
		}
		if onLine != nil {
			onLine(line)
		}
	}
}

// readLine reads one line; long lines are returned whole.
func (rc *rawConn) readLine() ([]byte, error) {
	line, err := rc.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = rc.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	return line, err
}

// literalSize reports the size of a literal announced at the end of line.
func literalSize(line []byte) (int64, bool) {
	l := bytes.TrimRight(line, "\r\n")
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSuffix(l[i+1:len(l)-1], []byte("+"))), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
