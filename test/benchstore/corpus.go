package benchstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"msgplex/internal/e2e"
)

// corpusDir is the shared MIME corpus (read only; never written).
func corpusDir() string {
	return filepath.Join(e2e.SharedTestdata(), "mime")
}

// loadCorpus returns the corpus messages with CRLF line ends (the IMAP
// wire form), sorted by file name so both servers get the same order.
func loadCorpus(tb testing.TB) [][]byte {
	tb.Helper()
	dir := corpusDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("corpus: %v", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var msgs [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			tb.Fatalf("corpus: %v", err)
		}
		msgs = append(msgs, toCRLF(b))
	}
	if len(msgs) == 0 {
		tb.Fatalf("corpus %s is empty", dir)
	}
	return msgs
}

// toCRLF turns every line end into CRLF.
func toCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// toLF is the maildir form of a CRLF message.
func toLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// corpusBytes is the total size of msgs.
func corpusBytes(msgs [][]byte) int64 {
	var n int64
	for _, m := range msgs {
		n += int64(len(m))
	}
	return n
}

// bigMessage returns a message of exactly size bytes: headers, then a
// text body of 76-character lines (CRLF).
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString("From: Big Sender <big@example.com>\r\nTo: bench@example.com\r\n" +
		"Subject: 50 MiB body\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <big.50m@bench.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
	line := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/abcdefghijkl", 1) + "\r\n"
	for b.Len()+len(line) <= size-2 {
		b.WriteString(line)
	}
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// flagsFor is the fixed flag pattern of message i in built folders: nine
// in ten \Seen, one in fifty \Flagged.
func flagsFor(i int) []string {
	var f []string
	if i%10 != 0 {
		f = append(f, `\Seen`)
	}
	if i%50 == 7 {
		f = append(f, `\Flagged`)
	}
	return f
}

// maildirInfo is the ":2," suffix for flagsFor(i) (letters sorted).
func maildirInfo(i int) string {
	s := ":2,"
	if i%50 == 7 {
		s += "F"
	}
	if i%10 != 0 {
		s += "S"
	}
	return s
}

func humanCount(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
