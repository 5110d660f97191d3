package test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"msgplex/internal/e2e"
)

// acked is one APPEND the store acknowledged.
type acked struct {
	uid  imap.UID
	body []byte
}

// TestKillDuringAppends kills the store with SIGKILL while several clients
// stream APPENDs, restarts it on the same data, and checks that every
// acknowledged UID is there with its exact bytes (DESIGN.md: durability).
func TestKillDuringAppends(t *testing.T) {
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "alice", Password: "pw-alice"})
	cfg := e2e.StoreConfig{DataRoot: dir + "/data", LDIF: ldif}
	st := e2e.StartStore(t, cfg)

	// Log in once so INBOX exists before the writers start.
	c0 := dialLogin(t, st.Addr, "alice", "pw-alice", nil)
	c0.Close()

	const clients = 4
	const perClient = 400 // bound on the load loop
	var (
		mu   sync.Mutex
		acks []acked
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := imapclient.DialInsecure(st.Addr, nil)
			if err != nil {
				return
			}
			defer c.Close()
			if err := c.Login("alice", "pw-alice").Wait(); err != nil {
				return
			}
			for n := 0; n < perClient; n++ {
				select {
				case <-stop:
					return
				default:
				}
				body := []byte(fmt.Sprintf("From: w%d@example.com\r\nSubject: kill test %d/%d\r\nMessage-ID: <%d.%d@kill>\r\n\r\n%s\r\n",
					i, i, n, i, n, bytes.Repeat([]byte{byte('a' + n%26)}, 200+n)))
				cmd := c.Append("INBOX", int64(len(body)), nil)
				if _, err := cmd.Write(body); err != nil {
					return
				}
				if err := cmd.Close(); err != nil {
					return
				}
				data, err := cmd.Wait()
				if err != nil {
					return // the store died mid-command: not acknowledged
				}
				mu.Lock()
				acks = append(acks, acked{uid: data.UID, body: body})
				mu.Unlock()
			}
		}(i)
	}

	// Kill once a good number of APPENDs have been acknowledged (bounded wait).
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 150 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st.Kill()
	close(stop)
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("no APPEND was acknowledged before the kill")
	}
	t.Logf("%d APPENDs acknowledged before SIGKILL", len(acks))

	st2 := e2e.StartStore(t, cfg)
	checkAcked(t, st2.Addr, acks)

	// reconstruct must also keep every acknowledged message.
	st2.Stop()
	if out, err := e2e.Run(t, "reconstruct", "--config", st2.Config, "user/alice"); err != nil {
		t.Fatalf("reconstruct: %v\n%s", err, out)
	}
	st3 := e2e.StartStore(t, cfg)
	checkAcked(t, st3.Addr, acks)
}

func checkAcked(t *testing.T, addr string, acks []acked) {
	t.Helper()
	c := dialLogin(t, addr, "alice", "pw-alice", nil)
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	want := map[imap.UID][]byte{}
	for _, a := range acks {
		set.AddNum(a.uid)
		if _, dup := want[a.uid]; dup {
			t.Fatalf("UID %d acknowledged twice", a.uid)
		}
		want[a.uid] = a.body
	}
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := map[imap.UID][]byte{}
	for _, m := range msgs {
		for _, b := range m.BodySection {
			got[m.UID] = b.Bytes
		}
	}
	for uid, body := range want {
		if !bytes.Equal(got[uid], body) {
			t.Errorf("acknowledged UID %d: got %d bytes, want %d", uid, len(got[uid]), len(body))
		}
	}
}

// dialLogin connects without TLS (loopback) and logs in.
func dialLogin(t *testing.T, addr, user, pw string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pw).Wait(); err != nil {
		c.Close()
		t.Fatalf("login %s at %s: %v", user, addr, err)
	}
	return c
}

// dialRaw connects without TLS and without logging in.
func dialRaw(addr string) (*imapclient.Client, error) {
	return imapclient.DialInsecure(addr, nil)
}
