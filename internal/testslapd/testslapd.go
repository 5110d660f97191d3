// Package testslapd runs a real OpenLDAP slapd for tests.
//
// Start writes a throwaway slapd.conf into t.TempDir() (schemas core,
// cosine, inetorgperson, nis, misc from /etc/ldap/schema and msgplex from
// the repository's deploy/ldap/msgplex.schema; one mdb database for
// BaseDN), loads the test's LDIF with slapadd, runs
// /usr/sbin/slapd in the foreground (-d 0) on a free 127.0.0.1 port, and
// waits (bounded) until it answers a bind. Cleanup kills it. The process
// also gets SIGKILL if the test binary dies (Pdeathsig).
//
// When slapd is not installed the test is skipped with a loud message,
// unless the environment variable CI is set: then it fails, because CI
// must run the LDAP tests (make test installs slapd via
// scripts/install-deps.sh).
package testslapd

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults of every Server.
const (
	BaseDN        = "dc=example,dc=com"
	AdminDN       = "cn=admin,dc=example,dc=com"
	AdminPassword = "admin-secret"

	slapdPath    = "/usr/sbin/slapd"
	slapaddPath  = "/usr/sbin/slapadd"
	schemaDir    = "/etc/ldap/schema"
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// BaseLDIF is the base entry and ou=people; Start prepends it unless the
// test's LDIF defines BaseDN itself.
const BaseLDIF = `dn: dc=example,dc=com
objectClass: top
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=com
objectClass: top
objectClass: organizationalUnit
ou: people

`

// Server is one running slapd.
type Server struct {
	URL           string         // ldap://127.0.0.1:PORT (StartTLS offered when TLS)
	Addr          string         // 127.0.0.1:PORT
	LDAPSURL      string         // ldaps://127.0.0.1:PORT2 when started with TLS
	RootCAs       *x509.CertPool // trusts the server's certificate (TLS only)
	BaseDN        string
	AdminDN       string
	AdminPassword string

	t    testing.TB
	dir  string
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer that slapd's output goroutine and Logs may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Available reports whether slapd is installed.
func Available() bool {
	_, err := os.Stat(slapdPath)
	return err == nil
}

// Require skips (or, with CI set, fails) the test when slapd is missing.
func Require(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	msg := "!!! slapd not installed (" + slapdPath + "): LDAP tests NOT RUN; run scripts/install-deps.sh (apt-get install slapd ldap-utils)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Options are StartWith's choices.
type Options struct {
	// TLS gives slapd a self-signed certificate for 127.0.0.1 (RootCAs
	// trusts it), offers StartTLS on URL and listens on LDAPSURL too.
	TLS bool
}

// Start runs a slapd holding ldif (entries under BaseDN) and stops it when
// the test ends.
func Start(t testing.TB, ldif string) *Server {
	t.Helper()
	return StartWith(t, ldif, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, ldif string, o Options) *Server {
	t.Helper()
	Require(t)
	s := &Server{
		BaseDN: BaseDN, AdminDN: AdminDN, AdminPassword: AdminPassword,
		t: t, dir: t.TempDir(),
	}
	if err := s.configure(ldif, o); err != nil {
		t.Fatalf("testslapd: %v", err)
	}
	var err error
	for range 3 { // a free port may be taken between probe and bind
		s.Addr, err = freePort()
		if err != nil {
			break
		}
		s.URL = "ldap://" + s.Addr
		if o.TLS {
			var a string
			if a, err = freePort(); err != nil {
				break
			}
			s.LDAPSURL = "ldaps://" + a
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("testslapd: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) configure(ldif string, o Options) error {
	schema, err := msgplexSchema()
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	var b strings.Builder
	for _, name := range []string{"core", "cosine", "inetorgperson", "nis", "misc"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", schemaDir, name)
	}
	fmt.Fprintf(&b, "include %s\n", schema)
	fmt.Fprintf(&b, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", s.dir, s.dir)
	fmt.Fprintf(&b, "modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
	if o.TLS {
		cert, key, pool, err := writeCert(s.dir)
		if err != nil {
			return fmt.Errorf("certificate: %w", err)
		}
		s.RootCAs = pool
		fmt.Fprintf(&b, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", cert, cert, key)
	}
	fmt.Fprintf(&b, "database mdb\nmaxsize 67108864\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n",
		s.BaseDN, s.AdminDN, s.AdminPassword, data)
	fmt.Fprintf(&b, "index objectClass eq\nindex uid,mail eq\n")
	fmt.Fprintf(&b, "access to attrs=userPassword by self write by anonymous auth by * none\n")
	fmt.Fprintf(&b, "access to * by * read\n")
	s.conf = filepath.Join(s.dir, "slapd.conf")
	if err := os.WriteFile(s.conf, []byte(b.String()), 0o600); err != nil {
		return err
	}
	if !strings.Contains(strings.ToLower(ldif), "dn: "+strings.ToLower(s.BaseDN)+"\n") {
		ldif = BaseLDIF + ldif
	}
	ldifPath := filepath.Join(s.dir, "init.ldif")
	if err := os.WriteFile(ldifPath, []byte(ldif), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, slapaddPath, "-f", s.conf, "-l", ldifPath).CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	return nil
}

// msgplexSchema finds deploy/ldap/msgplex.schema above the working
// directory (tests run in their package's directory).
func msgplexSchema() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 20 {
		p := filepath.Join(dir, "deploy", "ldap", "msgplex.schema")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("deploy/ldap/msgplex.schema not found above the working directory")
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logs := &syncBuffer{}
	urls := s.URL + "/"
	if s.LDAPSURL != "" {
		urls += " " + s.LDAPSURL + "/"
	}
	cmd := exec.Command(slapdPath, "-f", s.conf, "-h", urls, "-d", "0")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.logs = cmd, done, logs
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("slapd exited at start: %s", logs.String())
		default:
		}
		if err := s.ping(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stopLocked()
	return fmt.Errorf("slapd did not answer within %v: %s", startTimeout, logs.String())
}

func (s *Server) ping() error {
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(2 * time.Second)
	return c.Bind(s.AdminDN, s.AdminPassword)
}

// Stop ends slapd (SIGTERM, then SIGKILL after a bounded wait). It is safe
// to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart stops slapd and starts it again on the same port with the same
// data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) { // the port may linger briefly
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("testslapd: restart: %v", err)
}

// Admin returns a connection bound as the rootdn; the caller closes it.
func (s *Server) Admin() (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	if err := c.Bind(s.AdminDN, s.AdminPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Replace sets attr of dn to values (none deletes the attribute).
func (s *Server) Replace(dn, attr string, values ...string) error {
	c, err := s.Admin()
	if err != nil {
		return err
	}
	defer c.Close()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace(attr, values)
	return c.Modify(m)
}

// SetPassword replaces dn's userPassword.
func (s *Server) SetPassword(dn, password string) error {
	return s.Replace(dn, "userPassword", password)
}

// Logs returns what slapd wrote so far (with -d 0: almost nothing).
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// Port returns the TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}
