// Package splicerelay is the yardstick for the proxy's benchmarks: the
// plainest possible TCP relay, io.Copy both ways between two
// *net.TCPConn (kernel splice(2) on Linux), with half-close passed on.
// It is the practical limit of one proxy hop on a machine.
package splicerelay

import (
	"io"
	"net"
	"testing"
)

// Start listens on a free 127.0.0.1 port, relays every connection to
// target, and returns the listening address. It stops with the test.
func Start(tb testing.TB, target string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relay(c, target)
		}
	}()
	return ln.Addr().String()
}

func relay(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		io.Copy(s, c)
		s.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(c, s)
}
