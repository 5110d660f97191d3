package message

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"msgplex/internal/e2e"
)

// corpusFiles copies the MIME corpus to a temporary directory.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	corpus := e2e.MIMECorpus(t)
	ents, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(corpus, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, e.Name())
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func summarizeFile(t testing.TB, path string) (*Summary, []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	blob, err := Summarize(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s, err := Decode(blob)
	if err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	raw, _ := os.ReadFile(path)
	return s, raw
}

// walkTypes lists every part's path and media type.
func walkTypes(bs imap.BodyStructure) string {
	var b strings.Builder
	bs.Walk(func(path []int, p imap.BodyStructure) bool {
		fmt.Fprintf(&b, "%v=%s ", path, p.MediaType())
		if sp, ok := p.(*imap.BodyStructureSinglePart); ok && sp.MessageRFC822 != nil {
			b.WriteString("{" + walkTypes(sp.MessageRFC822.BodyStructure) + "} ")
		}
		return true
	})
	return b.String()
}

func emptyMultipart(bs imap.BodyStructure) bool {
	found := false
	bs.Walk(func(path []int, p imap.BodyStructure) bool {
		if mp, ok := p.(*imap.BodyStructureMultiPart); ok && len(mp.Children) == 0 {
			found = true
		}
		if sp, ok := p.(*imap.BodyStructureSinglePart); ok && sp.MessageRFC822 != nil && emptyMultipart(sp.MessageRFC822.BodyStructure) {
			found = true
		}
		return true
	})
	return found
}

func sectionBytes(t *testing.T, s *Summary, raw []byte, sec *imap.FetchItemBodySection) []byte {
	t.Helper()
	sr, err := s.Section(bytes.NewReader(raw), sec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(Partial(sr, sec.Partial))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCorpus(t *testing.T) {
	for _, path := range corpusFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s, raw := summarizeFile(t, path)
			env := s.Envelope
			if env == nil {
				t.Fatal("no envelope")
			}
			for _, l := range [][]imap.Address{env.From, env.To, env.Cc} {
				for _, a := range l {
					if a.Host != "" && a.Mailbox == "" {
						t.Errorf("address without mailbox: %+v", a)
					}
				}
			}
			if strings.Contains(string(raw[:min(len(raw), 2000)]), "\nFrom: ") && len(env.From) == 0 {
				t.Errorf("From header but no From address")
			}
			// Part paths and types match go-message's parse (through
			// imapserver's in-memory extraction), unless that one sees
			// a multipart without parts (which we serve as text/plain).
			if _, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err != nil {
				return // go-message cannot parse a message whose header has an mbox From line
			}
			ref := imapserver.ExtractBodyStructure(bytes.NewReader(raw))
			got, want := walkTypes(s.BodyStructure()), walkTypes(ref)
			// go-message stops at the first malformed part and says
			// "text/" for a bare "text"; we continue (RFC 2046) and
			// default the subtype.
			want = strings.ReplaceAll(want, "=text/ ", "=text/plain ")
			if !strings.HasPrefix(got, want) && !emptyMultipart(ref) {
				t.Errorf("structure:\n got %s\nwant %s", got, want)
			}
			if got != want {
				return // sections of parts go-message does not see cannot be compared
			}
			// BODYSTRUCTURE converts without panicking and has sane sizes.
			bs := s.BodyStructure()
			bs.Walk(func(path []int, p imap.BodyStructure) bool {
				if sp, ok := p.(*imap.BodyStructureSinglePart); ok && int64(sp.Size) > s.Size {
					t.Errorf("part %v size %d > message %d", path, sp.Size, s.Size)
				}
				return true
			})
			checkSections(t, s, raw)
		})
	}
}

// checkSections compares sections with imapserver's in-memory extraction.
func checkSections(t *testing.T, s *Summary, raw []byte) {
	secs := []*imap.FetchItemBodySection{
		{Specifier: imap.PartSpecifierText},
	}
	s.BodyStructure().Walk(func(path []int, p imap.BodyStructure) bool {
		if len(path) > 0 {
			secs = append(secs, &imap.FetchItemBodySection{Part: path})
		}
		return true
	})
	for _, sec := range secs {
		got := sectionBytes(t, s, raw, sec)
		want := imapserver.ExtractBodySection(bytes.NewReader(raw), sec)
		if !bytes.Equal(normalizeEOL(got), normalizeEOL(want)) {
			t.Errorf("section %+v: got %d bytes %.80q, want %d bytes %.80q", sec, len(got), got, len(want), want)
		}
	}
	// BODY[] is the file; partials are slices of it.
	if got := sectionBytes(t, s, raw, &imap.FetchItemBodySection{}); !bytes.Equal(got, raw) {
		t.Errorf("BODY[] differs from the file")
	}
	part := &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 10, Size: 100}}
	if got := sectionBytes(t, s, raw, part); !bytes.Equal(got, raw[10:min(110, len(raw))]) {
		t.Errorf("BODY[]<10.100> = %q", got)
	}
	// The header is the file's prefix, blank line included.
	hdr := sectionBytes(t, s, raw, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader})
	if !bytes.HasPrefix(raw, hdr) || !(bytes.HasSuffix(hdr, []byte("\n\n")) || bytes.HasSuffix(hdr, []byte("\r\n\r\n"))) {
		t.Errorf("header section %.80q", hdr)
	}
}

// normalizeEOL lets the comparison ignore the CRLF imapserver adds when
// re-serializing headers of parts.
func normalizeEOL(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

func parseString(t *testing.T, msg string) (*Summary, []byte) {
	t.Helper()
	raw := []byte(msg)
	s, err := Parse(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Decode(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return s2, raw
}

const nested = "From: a@b.c\r\nSubject: nested\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n" +
	"preamble\r\n--X\r\nContent-Type: text/plain\r\n\r\nhello\r\n--X\r\n" +
	"Content-Type: message/rfc822\r\n\r\nFrom: inner@x.y\r\nSubject: inner\r\n" +
	"Content-Type: multipart/alternative; boundary=Y\r\n\r\n--Y\r\n\r\ninner text\r\n--Y\r\n" +
	"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n--Y--\r\n" +
	"\r\n--X--\r\nepilogue\r\n"

func TestSectionsNested(t *testing.T) {
	s, raw := parseString(t, nested)
	for _, tc := range []struct {
		sec  imap.FetchItemBodySection
		want string
	}{
		{imap.FetchItemBodySection{Part: []int{1}}, "hello"},
		{imap.FetchItemBodySection{Part: []int{1}, Specifier: imap.PartSpecifierMIME}, "Content-Type: text/plain\r\n\r\n"},
		{imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"subject"}}, "Subject: inner\r\n\r\n"},
		{imap.FetchItemBodySection{Part: []int{2, 1}}, "inner text"},
		{imap.FetchItemBodySection{Part: []int{2, 2}}, "PGI+aGk8L2I+"},
		{imap.FetchItemBodySection{Part: []int{2, 3}}, ""},
		{imap.FetchItemBodySection{Part: []int{1, 1}}, ""},
		{imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"From", "content-type"}}, "Subject: nested\r\n\r\n"},
		{imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 6, Size: 5}}, "a@b.c"},
		{imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 1 << 40, Size: 5}}, ""},
	} {
		if got := string(sectionBytes(t, s, raw, &tc.sec)); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.sec, got, tc.want)
		}
	}
	open, size, err := s.Binary(bytes.NewReader(raw), []int{2, 2})
	if err != nil || size != 9 {
		t.Fatalf("binary: %d %v", size, err)
	}
	if b, _ := io.ReadAll(open()); string(b) != "<b>hi</b>" {
		t.Fatalf("binary %q", b)
	}
	inner := s.Find([]int{2})
	if inner.Envelope == nil || inner.Envelope.Subject != "inner" || inner.Lines == 0 {
		t.Fatalf("inner message %+v", inner)
	}
}

func TestEnvelopeAddresses(t *testing.T) {
	s, _ := parseString(t, "From: \"Doe, John\" <john@example.com>\r\n"+
		"To: Team: alice@example.com, Bob <bob@example.com>;, root, Bad Guy <bad@>, carol@example.org\r\n"+
		"Cc: undisclosed-recipients:;\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"+
		"Date: Fri, 4 May 2001 14:05:44 -0400\r\nMessage-ID: <id@x>\r\nIn-Reply-To: <a@x> <b@y>\r\n\r\nbody\r\n")
	e := s.Envelope
	if len(e.From) != 1 || e.From[0].Name != "Doe, John" || e.From[0].Mailbox != "john" || e.From[0].Host != "example.com" {
		t.Errorf("from %+v", e.From)
	}
	to := e.To
	if len(to) != 7 || !to[0].IsGroupStart() || to[0].Mailbox != "Team" || !to[3].IsGroupEnd() ||
		to[4].Mailbox != "root" || to[4].Host != MissingDomain || to[5].Name != "Bad Guy" || to[5].Host != MissingDomain || to[6].Addr() != "carol@example.org" {
		t.Errorf("to %+v", to)
	}
	if len(e.Cc) != 2 || !e.Cc[0].IsGroupStart() || !e.Cc[1].IsGroupEnd() {
		t.Errorf("cc %+v", e.Cc)
	}
	if e.Subject != "café" || e.MessageID != "id@x" || len(e.InReplyTo) != 2 || e.Date.Year() != 2001 {
		t.Errorf("envelope %+v", e)
	}
	if _, off := e.Date.Zone(); off != -4*3600 {
		t.Errorf("zone %d", off)
	}
}

func TestDecodeRejectsCorrupt(t *testing.T) {
	s, _ := parseString(t, nested)
	blob := s.Encode()
	for i := range blob {
		b := bytes.Clone(blob)
		b[i] ^= 0x55
		if _, err := Decode(b); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	for n := range len(blob) {
		if _, err := Decode(blob[:n]); err == nil {
			t.Fatalf("truncation to %d accepted", n)
		}
	}
}

func TestNoBoundaryMultipart(t *testing.T) {
	s, raw := parseString(t, "Content-Type: multipart/mixed\r\n\r\nno boundary\r\n")
	if s.Root.Type != "text" {
		t.Fatalf("type %s", s.Root.Type)
	}
	if got := sectionBytes(t, s, raw, &imap.FetchItemBodySection{Part: []int{1}}); string(got) != "no boundary\r\n" {
		t.Fatalf("%q", got)
	}
	// Long lines without line breaks parse.
	long := "Subject: x\n\n" + strings.Repeat("a", 200<<10)
	s, _ = parseString(t, long)
	if s.Root.BodyStart != 12 || s.Root.Lines != 0 {
		t.Fatalf("%+v", s.Root)
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range []string{nested, "Subject: x\r\n\r\nbody"} {
		s, err := Parse(strings.NewReader(m), int64(len(m)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.Encode())
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		s, err := Decode(blob)
		if err != nil {
			return
		}
		_ = s.BodyStructure()
		raw := make([]byte, s.Size%(1<<20))
		_, _ = s.Section(bytes.NewReader(raw), &imap.FetchItemBodySection{Part: []int{1, 2}})
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(nested))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Parse(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(s.Encode()); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
