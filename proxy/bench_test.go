package proxy

// Benchmarks, side by side in one run:
//
//	go test -run '^$' -bench . -benchtime 20x ./proxy
//
// BenchmarkTransfer: bytes/s of a FETCH-like 64 MiB literal from the fake
// store to the client, direct, through a plain io.Copy (kernel splice)
// relay, and through the proxy. BenchmarkLogin: a connection and a login
// per op (no LOGOUT: the client closes), through the proxy and direct.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"msgplex/config"
	"msgplex/internal/splicerelay"
)

const transferSize = 64 << 20

type benchConn struct {
	c net.Conn
	r *bufio.Reader
}

func benchDial(b *testing.B, addr string) *benchConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Minute))
	return &benchConn{c, bufio.NewReaderSize(c, 64<<10)}
}

func (bc *benchConn) until(b *testing.B, tag string) string {
	for i := 0; i < 100; i++ {
		l, err := bc.r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				b.Fatalf("%q", l)
			}
			return l
		}
	}
	b.Fatal("no tagged reply")
	return ""
}

func (bc *benchConn) send(b *testing.B, s string) {
	if _, err := bc.c.Write([]byte(s + "\r\n")); err != nil {
		b.Fatal(err)
	}
}

func (bc *benchConn) storeLogin(b *testing.B, user string) {
	bc.r.ReadString('\n')
	ir := base64.StdEncoding.EncodeToString([]byte(user + "\x00admin\x00adminpw"))
	bc.send(b, "l AUTHENTICATE PLAIN "+ir)
	bc.until(b, "l")
}

func (bc *benchConn) fetch(b *testing.B) {
	bc.send(b, fmt.Sprintf("f FETCH-BIG %d", transferSize))
	if _, err := bc.r.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, bc.r, transferSize); err != nil {
		b.Fatal(err)
	}
	bc.until(b, "f")
}

func BenchmarkTransfer(b *testing.B) {
	e := newEnv(b, nil)
	relay := splicerelay.Start(b, e.store.Addr())
	run := func(name, addr string, login func(*benchConn)) {
		b.Run(name, func(b *testing.B) {
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
	run("direct", e.store.Addr(), func(bc *benchConn) { bc.storeLogin(b, "alice") })
	run("splice-relay", relay, func(bc *benchConn) { bc.storeLogin(b, "alice") })
	run("proxy", e.addr, func(bc *benchConn) {
		bc.r.ReadString('\n')
		bc.send(b, "l LOGIN alice alicepw")
		bc.until(b, "l")
	})
}

// rawLogin is the cheapest client: connect, read the greeting, send line
// (a login command tagged "l"), read up to the tagged reply, close. buf is
// scratch space of the caller's.
func rawLogin(addr, line string, buf []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitMax))
	have, lines := 0, 0
	for range 100 {
		n, err := c.Read(buf[have:])
		if err != nil {
			return err
		}
		have += n
		for {
			i := bytes.IndexByte(buf[:have], '\n')
			if i < 0 {
				break
			}
			l := buf[:i+1]
			switch lines++; {
			case lines == 1:
				if _, err := c.Write([]byte(line)); err != nil {
					return err
				}
			case bytes.HasPrefix(l, []byte("l OK")):
				return nil
			case bytes.HasPrefix(l, []byte("l ")):
				return fmt.Errorf("login: %q", l)
			}
			have = copy(buf, buf[i+1:have])
		}
		if have == len(buf) {
			return errors.New("line too long")
		}
	}
	return errors.New("no tagged reply")
}

// BenchmarkLogin: one login per op, through the proxy (LOGIN, fake
// directory, store-admin login at the fake store) and direct (the
// store-admin AUTHENTICATE PLAIN at the fake store); -benchmem shows the
// allocations of the whole process (client and fake store included).
func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, func(c *config.Proxy) { c.ConnLimits = 0 })
	ir := base64.StdEncoding.EncodeToString([]byte("alice\x00admin\x00adminpw"))
	for _, tc := range []struct{ name, addr, line string }{
		{"proxy", e.addr, "l LOGIN alice alicepw\r\n"},
		{"direct", e.store.Addr(), "l AUTHENTICATE PLAIN " + ir + "\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 4096)
			for i := 0; i < b.N; i++ {
				if err := rawLogin(tc.addr, tc.line, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLoginParallel(b *testing.B) {
	e := newEnv(b, func(c *config.Proxy) { c.ConnLimits = 0 })
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 4096)
		for pb.Next() {
			if err := rawLogin(e.addr, "l LOGIN alice alicepw\r\n", buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
