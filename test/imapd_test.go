// End-to-end tests of `msgplex store` as a built binary, with an LDIF
// directory, go-imap's imapclient and Python's imaplib.
package test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// msgplexBin returns $MSGPLEX_BIN or builds the binary.
func msgplexBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("MSGPLEX_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "msgplex")
	out, err := exec.Command("go", "build", "-o", bin, "msgplex/cmd/msgplex").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const usersLDIF = `dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: alice
cn: Alice
sn: Example
mail: alice@example.com
userPassword: alice-pw
mailHost: 127.0.0.1

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: bob
cn: Bob
sn: Example
mail: bob@example.com
userPassword: bob-pw
mailHost: 127.0.0.1
`

// startStore runs `msgplex store` and waits until it accepts connections.
func startStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	ldif := filepath.Join(dir, "users.ldif")
	if err := os.WriteFile(ldif, []byte(usersLDIF), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "msgplex.toml")
	conf := fmt.Sprintf("store.dataroot = %q\nservice.imap.listen = %q\ndirectory.url = \"ldif:%s\"\n"+
		"store.admin.password = \"adminpw\"\nservice.imap.vmbudget = \"64MiB\"\n", filepath.Join(dir, "data"), addr, ldif)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(msgplexBin(t), "store", "--config", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case logs <- sc.Text():
			default:
			}
		}
		close(logs)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("store exit: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("store did not stop on SIGINT")
		}
	})
	for range 200 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	var l []string
	for len(logs) > 0 {
		l = append(l, <-logs)
	}
	t.Fatalf("store did not listen on %s: %s", addr, strings.Join(l, "\n"))
	return ""
}

func TestStoreBinaryIMAP(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	addr := startStore(t)
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Login("alice", "alice-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	msg := "From: a@example.com\r\nSubject: e2e\r\n\r\nbody\r\n"
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	cmd.Write([]byte(msg))
	cmd.Close()
	ad, err := cmd.Wait()
	if err != nil || ad.UID != 1 {
		t.Fatalf("append: %+v %v", ad, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "e2e" {
		t.Fatalf("fetch: %v %+v", err, msgs)
	}
	for _, b := range msgs[0].BodySection {
		if string(b.Bytes) != msg {
			t.Fatalf("body %q", b.Bytes)
		}
	}
	// The store-admin login as bob from loopback (a trusted proxy by default).
	c2, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Authenticate(sasl.NewPlainClient("bob", "msgplex-admin", "adminpw")); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	st, err := c2.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Fatalf("bob's INBOX: %+v %v", st, err)
	}
}

func TestStoreBinaryImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	addr := startStore(t)
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(py, "../store/imapd/testdata/imaplib_check.py", host, port, "bob", "bob-pw").CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	want := []string{"append OK True", "select OK 1", "search OK 1", "fetch OK True True", "list OK True", "done"}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("imaplib output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}
