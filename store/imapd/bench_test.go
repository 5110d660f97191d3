package imapd

import (
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func benchAppend(b *testing.B, e *env, n int, msg []byte) {
	c := e.client("alice", "alicepw")
	for range n {
		cmd := c.Append("INBOX", int64(len(msg)), nil)
		cmd.Write(msg)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend measures durable APPENDs over loopback.
func BenchmarkAppend(b *testing.B) {
	e := newEnv(b, nil)
	b.ResetTimer()
	benchAppend(b, e, b.N, []byte(msg1))
}

// BenchmarkSelect measures SELECT of a folder of 1000 messages.
func BenchmarkSelect(b *testing.B) {
	e := newEnv(b, nil)
	benchAppend(b, e, 1000, []byte(msg1))
	c := e.client("alice", "alicepw")
	b.ResetTimer()
	for range b.N {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchFlags measures UID FETCH 1:* (FLAGS) on 1000 messages.
func BenchmarkFetchFlags(b *testing.B) {
	e := newEnv(b, nil)
	benchAppend(b, e, 1000, []byte(msg1))
	c := e.client("alice", "alicepw")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
		if err != nil || len(msgs) != 1000 {
			b.Fatalf("%d %v", len(msgs), err)
		}
	}
}

// BenchmarkBody50MiB measures BODY[] of a 50 MiB message.
func BenchmarkBody50MiB(b *testing.B) {
	e := newEnv(b, nil)
	big := []byte("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 50<<10))
	benchAppend(b, e, 1, big)
	c := e.client("alice", "alicepw")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(big)))
	b.ResetTimer()
	for range b.N {
		cmd := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		m := cmd.Next()
		for {
			item := m.Next()
			if item == nil {
				break
			}
			if bs, ok := item.(imapclient.FetchItemDataBodySection); ok {
				n, _ := io.Copy(io.Discard, bs.Literal)
				if n != int64(len(big)) {
					b.Fatalf("got %d bytes", n)
				}
			}
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
