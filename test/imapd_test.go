// End-to-end tests of `msgplex store` as a built binary, with an LDIF
// directory, go-imap's imapclient and Python's imaplib.
package test

import (
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

	"msgplex/internal/e2e"
)

// startStore runs `msgplex store` with alice and bob in an LDIF directory
// and waits (bounded) until it accepts connections. It manages the process
// itself, not through e2e.Start, so that it can check that the store exits
// cleanly on SIGINT when the test ends.
func startStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir,
		e2e.User{UID: "alice", Password: "alice-pw", MailHost: "127.0.0.1"},
		e2e.User{UID: "bob", Password: "bob-pw", MailHost: "127.0.0.1"})
	sc := e2e.StoreConfig{DataRoot: filepath.Join(dir, "data"), LDIF: ldif, Extra: `service.imap.vmbudget = "64MiB"`}
	cfg := e2e.WriteStoreConfig(t, &sc)
	logf, err := os.Create(filepath.Join(dir, "store.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(e2e.Binary(t), "store", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	storeLog := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("store exit on SIGINT: %v\n%s", err, storeLog())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("store did not stop on SIGINT:\n%s", storeLog())
		}
	})
	for range 200 {
		if c, err := net.DialTimeout("tcp", sc.Listen, time.Second); err == nil {
			c.Close()
			return sc.Listen
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("store did not listen on %s:\n%s", sc.Listen, storeLog())
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
	py := e2e.LookPath(t, "python3")
	addr := startStore(t)
	host, port, _ := net.SplitHostPort(addr)
	out, err := boundedCommand(t, time.Minute, py, "../store/imapd/testdata/imaplib_check.py", host, port, "bob", "bob-pw").CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	want := []string{"append OK True", "select OK 1", "search OK 1", "fetch OK True True", "list OK True", "done"}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("imaplib output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}
