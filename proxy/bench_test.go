package proxy

// Benchmarks, side by side in one run:
//
//	go test -run '^$' -bench . -benchtime 20x ./proxy
//
// BenchmarkTransfer: bytes/s of a FETCH-like 64 MiB literal from the fake
// store to the client, direct, through a plain io.Copy (kernel splice)
// relay, and through the proxy. BenchmarkLogin: a full connection, LOGIN
// (directory + store-admin login at the fake store) and LOGOUT per op,
// through the proxy and direct (AUTHENTICATE PLAIN at the fake store).

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"msgplex/config"
)

const transferSize = 64 << 20

// relay is a minimal splice relay: the practical limit of one hop.
func startRelay(b *testing.B, target string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				s, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, s)
				c.Close()
				s.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

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
	relay := startRelay(b, e.store.Addr())
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

func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, func(c *config.Proxy) { c.ConnLimits = 0 })
	b.Run("proxy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			bc := benchDial(b, e.addr)
			bc.r.ReadString('\n')
			bc.send(b, "l LOGIN alice alicepw")
			bc.until(b, "l")
			bc.send(b, "o LOGOUT")
			bc.until(b, "o")
			bc.c.Close()
		}
	})
	b.Run("direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			bc := benchDial(b, e.store.Addr())
			bc.storeLogin(b, "alice")
			bc.send(b, "o LOGOUT")
			bc.until(b, "o")
			bc.c.Close()
		}
	})
}

func BenchmarkLoginParallel(b *testing.B) {
	e := newEnv(b, func(c *config.Proxy) { c.ConnLimits = 0 })
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bc := benchDial(b, e.addr)
			bc.r.ReadString('\n')
			bc.send(b, "l LOGIN alice alicepw")
			bc.until(b, "l")
			bc.send(b, "o LOGOUT")
			bc.until(b, "o")
			bc.c.Close()
		}
	})
}
