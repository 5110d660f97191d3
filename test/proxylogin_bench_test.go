package test

// Login benchmarks: the proxy is the built binary (its own process, so its
// CPU is read from /proc/<pid>/stat and nothing else is counted), the
// directory is LDIF with its default cache (directory.cachettl), and the
// load generator is a raw-socket client that connects, reads the greeting,
// sends one login command, reads the tagged OK and closes — no IMAP client
// library, no LOGOUT round trip.
//
//	go build -o /tmp/msgplex ./cmd/msgplex
//	MSGPLEX_BIN=/tmp/msgplex go test -run '^$' -bench 'ProxyLogins' -benchtime 4000x ./test
//
// BenchmarkProxyLogins: against the fake store (proxy/backend/fakestore,
// which isolates the proxy's own cost): direct (the store-admin
// AUTHENTICATE PLAIN at the fake store) and through the proxy, each with 1
// and 8 clients at once. BenchmarkProxyLoginsStore: the same against the
// msgplex store. Each reports logins/s, p50 and p99 login latency
// (connect to tagged OK) and, through the proxy, the proxy's CPU per login.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loginTarget is one thing to log in to.
type loginTarget struct {
	name string
	addr string
	line string // the login command, tag "l"
	pid  int    // the proxy's pid, 0 when direct
}

// rawLogin connects, reads the greeting, sends line and reads up to the
// tagged reply; buf is the caller's scratch space. It closes the
// connection.
func rawLogin(addr, line string, buf []byte) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(pxWait))
	n, err := readLines(c, buf, 0, func(l []byte) bool { return true })
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(buf[:n], []byte("* OK")) {
		return fmt.Errorf("greeting: %q", buf[:n])
	}
	if _, err := c.Write([]byte(line)); err != nil {
		return err
	}
	var tagged []byte
	if _, err := readLines(c, buf, 0, func(l []byte) bool {
		if bytes.HasPrefix(l, []byte("l ")) {
			tagged = l
			return true
		}
		return false
	}); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if !bytes.HasPrefix(tagged, []byte("l OK")) {
		return fmt.Errorf("login: %q", tagged)
	}
	return nil
}

// readLines reads from c into buf, calling done on each complete line,
// until done returns true; it returns the end of that line. Lines longer
// than buf are an error. At most 100 reads.
func readLines(c net.Conn, buf []byte, have int, done func([]byte) bool) (int, error) {
	start := 0
	for range 100 {
		for {
			i := bytes.IndexByte(buf[start:have], '\n')
			if i < 0 {
				break
			}
			end := start + i + 1
			if done(buf[start:end]) {
				return end, nil
			}
			start = end
		}
		if start > 0 {
			have = copy(buf, buf[start:have])
			start = 0
		}
		if have == len(buf) {
			return 0, errors.New("line too long")
		}
		n, err := c.Read(buf[have:])
		if err != nil {
			return 0, err
		}
		have += n
	}
	return 0, errors.New("too many reads")
}

// runLogins does b.N logins with clients goroutines at once and reports
// logins/s, p50/p99 latency and, if t.pid is set, that process's CPU per
// login.
func runLogins(b *testing.B, t loginTarget, clients int) {
	if err := rawLogin(t.addr, t.line, make([]byte, 4096)); err != nil { // warm the directory cache
		b.Fatal(err)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	cpu0 := time.Duration(0)
	if t.pid != 0 {
		cpu0 = procCPU(b, t.pid)
	}
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := rawLogin(t.addr, t.line, buf); err != nil {
					errs <- err
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if t.pid != 0 {
		b.ReportMetric(float64((procCPU(b, t.pid)-cpu0).Microseconds())/float64(b.N), "proxy-cpu-µs/login")
	}
}

// benchLoginTargets runs every target with 1 and 8 clients.
func benchLoginTargets(b *testing.B, targets []loginTarget) {
	for _, t := range targets {
		for _, clients := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", t.name, clients), func(b *testing.B) {
				runLogins(b, t, clients)
			})
		}
	}
}

func BenchmarkProxyLogins(b *testing.B) {
	px, fs := startBenchProxy(b)
	ir := base64.StdEncoding.EncodeToString([]byte("alice\x00msgplex-admin\x00adminpw"))
	benchLoginTargets(b, []loginTarget{
		{name: "direct", addr: fs.Addr(), line: "l AUTHENTICATE PLAIN " + ir + "\r\n"},
		{name: "proxy", addr: px.Addr, line: "l LOGIN alice alicepw\r\n", pid: px.pid()},
	})
}

func BenchmarkProxyLoginsStore(b *testing.B) {
	sb := startStoreBench(b, 0)
	benchLoginTargets(b, []loginTarget{
		{name: "direct", addr: sb.store.Addr, line: "l LOGIN alice alicepw\r\n"},
		{name: "proxy", addr: sb.px.Addr, line: "l LOGIN alice alicepw\r\n", pid: sb.px.pid()},
	})
}
