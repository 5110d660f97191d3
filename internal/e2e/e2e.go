// Package e2e runs the built msgplex binary for end-to-end tests: it finds
// or builds the binary once per test process, writes throwaway configs and
// LDIF directories, starts daemons on free loopback ports, waits (bounded)
// until they answer, and stops them when the test ends. Daemon output goes
// to a file that is printed when the test fails.
//
// Nothing here is a fake: tests drive the real daemons with real clients.
package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"msgplex/internal/testslapd"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the msgplex binary: $MSGPLEX_BIN (set by `make test`), or
// one built from this checkout once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MSGPLEX_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "msgplex-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "msgplex")
		cmd := exec.Command("go", "build", "-o", buildPath, "msgplex/cmd/msgplex")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedTestdata is ../shared/testdata beside the checkout.
func SharedTestdata() string {
	return filepath.Join(moduleRoot(), "..", "shared", "testdata")
}

// MIMECorpus is the directory of real MIME messages in the shared test
// data. A missing corpus fails the test: CI always has shared/ beside the
// checkout, and a silently skipped corpus test proves nothing.
func MIMECorpus(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(SharedTestdata(), "mime")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("MIME corpus: %v (the shared folder must sit beside the checkout)", err)
	}
	return dir
}

// LookPath finds a real peer's program (mbsync, python3, dovecot). A
// missing one skips the test on a developer's machine but fails it under
// CI (CI set), where `make test` has installed every peer.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; make test installs it (scripts/install-deps.sh)", name)
		}
		t.Skipf("%s not installed (make test installs it)", name)
	}
	return p
}

// FreeAddr returns a 127.0.0.1 address with a port free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// User is a directory entry for WriteLDIF.
type User struct {
	UID, Password, MailHost, Status string
}

// WriteLDIF writes an LDIF directory file with the users under
// ou=people,dc=example,dc=com and returns its path.
func WriteLDIF(t testing.TB, dir string, users ...User) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(testslapd.BaseLDIF)
	for _, u := range users {
		fmt.Fprintf(&b, "dn: uid=%s,ou=people,dc=example,dc=com\nobjectClass: top\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\n", u.UID)
		fmt.Fprintf(&b, "uid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\nuserPassword: %s\n", u.UID, u.UID, u.UID, u.UID, u.Password)
		if u.MailHost != "" {
			fmt.Fprintf(&b, "mailHost: %s\n", u.MailHost)
		}
		if u.Status != "" {
			fmt.Fprintf(&b, "objectClass: msgplexUser\nmailUserStatus: %s\n", u.Status)
		}
		b.WriteString("\n")
	}
	p := filepath.Join(dir, "users.ldif")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// StoreConfig describes one store daemon.
type StoreConfig struct {
	DataRoot string // required; several stores may share one
	LDIF     string // path of the directory file
	Listen   string // default: a free port
	AdminPW  string // store.admin.password; default "adminpw"
	Extra    string // more TOML, dotted keys (service.imap.vmbudget = "64MiB"), put first in the file
}

// Proc is a running daemon.
type Proc struct {
	Addr   string
	Config string
	cmd    *exec.Cmd
	log    string
	done   chan struct{}
	t      testing.TB
}

// WriteStoreConfig writes the store's TOML file and returns its path.
func WriteStoreConfig(t testing.TB, c *StoreConfig) string {
	t.Helper()
	if c.Listen == "" {
		c.Listen = FreeAddr(t)
	}
	if c.AdminPW == "" {
		c.AdminPW = "adminpw"
	}
	text := fmt.Sprintf(`%s
[store]
dataroot = %q
admin.user = "msgplex-admin"
admin.password = %q
[service.imap]
listen = %q
[directory]
url = "ldif:%s"
`, c.Extra, c.DataRoot, c.AdminPW, c.Listen, c.LDIF)
	p := filepath.Join(t.TempDir(), "store.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// StartStore starts `msgplex store` and waits until it accepts connections.
func StartStore(t testing.TB, c StoreConfig) *Proc {
	t.Helper()
	cfg := WriteStoreConfig(t, &c)
	return Start(t, c.Listen, cfg, "store", "--config", cfg)
}

// Start runs the binary with args and waits until addr accepts (30 s at most).
func Start(t testing.TB, addr, cfg string, args ...string) *Proc {
	t.Helper()
	logf := filepath.Join(t.TempDir(), args[0]+".log")
	f, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary(t), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Addr: addr, Config: cfg, cmd: cmd, log: logf, done: make(chan struct{}), t: t}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- %s log (%s):\n%s", args[0], logf, p.Log())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("msgplex %s exited at start:\n%s", args[0], p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("msgplex %s did not listen on %s within 30s:\n%s", args[0], addr, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log returns what the daemon has written so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits (10 s, then SIGKILL).
func (p *Proc) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Run runs the binary to completion (60 s at most) and returns its
// combined output and error.
func Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("msgplex %v: timed out", args)
	}
}
