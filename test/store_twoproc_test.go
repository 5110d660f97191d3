package test

import (
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"msgplex/internal/e2e"
)

// events collects what the server told a client unilaterally.
type events struct {
	mu       sync.Mutex
	exists   uint32
	expunged []uint32
	flags    map[uint32][]imap.Flag
	kick     chan struct{} // one pending wake-up for waitFor; never blocks a sender
}

func newEvents() *events {
	return &events{flags: map[uint32][]imap.Flag{}, kick: make(chan struct{}, 1)}
}

func (e *events) handler() *imapclient.Options {
	return &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				e.mu.Lock()
				e.exists = *d.NumMessages
				e.mu.Unlock()
				e.wake()
			}
		},
		Expunge: func(seq uint32) {
			e.mu.Lock()
			e.expunged = append(e.expunged, seq)
			e.mu.Unlock()
			e.wake()
		},
		Fetch: func(m *imapclient.FetchMessageData) {
			buf, err := m.Collect()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.flags[buf.SeqNum] = buf.Flags
			e.mu.Unlock()
			e.wake()
		},
	}}
}

// wake tells waitFor to look again. It runs in the client's reader
// goroutine, so it must not block: a full channel already holds a wake-up.
func (e *events) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// waitFor waits (10 s at most) until cond holds.
func (e *events) waitFor(t *testing.T, what string, cond func(*events) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		ok := cond(e)
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.kick:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestTwoStoreProcesses runs two store daemons on one data root: a session
// idling in one sees new mail, flag changes and expunges made through the
// other (DESIGN.md, store Concurrency).
func TestTwoStoreProcesses(t *testing.T) {
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "bob", Password: "pw-bob"})
	data := dir + "/data"
	s1 := e2e.StartStore(t, e2e.StoreConfig{DataRoot: data, LDIF: ldif})
	s2 := e2e.StartStore(t, e2e.StoreConfig{DataRoot: data, LDIF: ldif})

	writer := dialLogin(t, s2.Addr, "bob", "pw-bob", nil)
	defer writer.Close()
	appendMsg(t, writer, "INBOX", "first")

	ev := newEvents()
	reader := dialLogin(t, s1.Addr, "bob", "pw-bob", ev.handler())
	defer reader.Close()
	sel, err := reader.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("select: %v, %+v", err, sel)
	}
	idle, err := reader.Idle()
	if err != nil {
		t.Fatal(err)
	}

	// New mail through the other process → EXISTS during IDLE.
	appendMsg(t, writer, "INBOX", "second")
	ev.waitFor(t, "EXISTS 2 during IDLE", func(e *events) bool { return e.exists == 2 })

	// A flag change through the other process → FETCH FLAGS.
	if _, err := writer.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := writer.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "FETCH FLAGS \\Flagged on message 1", func(e *events) bool {
		for _, f := range e.flags[1] {
			if f == imap.FlagFlagged {
				return true
			}
		}
		return false
	})

	// An expunge through the other process → EXPUNGE.
	if err := writer.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := writer.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "EXPUNGE 1", func(e *events) bool { return len(e.expunged) == 1 && e.expunged[0] == 1 })

	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	// After IDLE, the reader's view matches the writer's.
	msgs, err := reader.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope == nil || msgs[0].Envelope.Subject != "second" {
		t.Fatalf("after expunge: %v %+v", err, msgs)
	}
}

func appendMsg(t *testing.T, c *imapclient.Client, mbox, subject string) *imap.AppendData {
	t.Helper()
	return appendRaw(t, c, mbox, []byte("From: a@example.com\r\nTo: bob@example.com\r\nSubject: "+subject+"\r\n\r\nhello\r\n"))
}

func appendRaw(t *testing.T, c *imapclient.Client, mbox string, body []byte) *imap.AppendData {
	t.Helper()
	cmd := c.Append(mbox, int64(len(body)), nil)
	if _, err := cmd.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return d
}
