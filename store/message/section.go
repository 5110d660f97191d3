package message

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// ErrUnknownEncoding is returned by Binary for a Content-Transfer-Encoding
// it cannot decode (IMAP answers NO [UNKNOWN-CTE], RFC 3516 §4.3).
var ErrUnknownEncoding = errors.New("message: unknown content transfer encoding")

// Find resolves an IMAP part path (RFC 3501 §6.4.5) to a part. ofMessage
// reports that the path ends on an entity whose HEADER and TEXT are those
// of an embedded message. Find returns nil for a path that does not exist.
func (s *Summary) Find(path []int) *Part {
	cur, isMsg := s.Root, true
	for _, n := range path {
		if !isMsg && cur.Message != nil {
			cur, isMsg = cur.Message, true
		}
		switch {
		case cur.IsMultipart():
			if n < 1 || n > len(cur.Children) {
				return nil
			}
			cur, isMsg = cur.Children[n-1], false
		case isMsg && n == 1:
			isMsg = false
		default:
			return nil
		}
	}
	return cur
}

// Section returns the bytes of BODY[sec] before any partial, reading
// from the message file r. A section that does not exist is empty.
func (s *Summary) Section(r io.ReaderAt, sec *imap.FetchItemBodySection) (*io.SectionReader, error) {
	empty := io.NewSectionReader(r, 0, 0)
	msg := s.Root
	if len(sec.Part) > 0 {
		p := s.Find(sec.Part)
		if p == nil {
			return empty, nil
		}
		switch sec.Specifier {
		case imap.PartSpecifierNone:
			return span(r, p.BodyStart, p.End), nil
		case imap.PartSpecifierMIME:
			return span(r, p.HeaderStart, p.BodyStart), nil
		}
		if msg = p.Message; msg == nil {
			return empty, nil
		}
	}
	switch sec.Specifier {
	case imap.PartSpecifierNone:
		return span(r, 0, s.Size), nil
	case imap.PartSpecifierText:
		return span(r, msg.BodyStart, msg.End), nil
	case imap.PartSpecifierHeader:
		if len(sec.HeaderFields) == 0 && len(sec.HeaderFieldsNot) == 0 {
			return span(r, msg.HeaderStart, msg.BodyStart), nil
		}
		b, err := filterHeader(r, msg, sec.HeaderFields, sec.HeaderFieldsNot)
		if err != nil {
			return nil, err
		}
		return io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b))), nil
	}
	return empty, nil
}

func span(r io.ReaderAt, from, to int64) *io.SectionReader {
	return io.NewSectionReader(r, from, to-from)
}

// Partial applies <offset.size> to a section (RFC 3501 §6.4.5).
func Partial(sr *io.SectionReader, p *imap.SectionPartial) *io.SectionReader {
	if p == nil {
		return sr
	}
	off := min(max(p.Offset, 0), sr.Size())
	n := min(max(p.Size, 0), sr.Size()-off)
	return io.NewSectionReader(sr, off, n)
}

// filterHeader returns the header fields of msg named in keep (or not
// named in drop), raw, followed by a blank line.
func filterHeader(r io.ReaderAt, msg *Part, keep, drop []string) ([]byte, error) {
	n := min(msg.BodyStart-msg.HeaderStart, MaxHeader)
	raw := make([]byte, n)
	if _, err := r.ReadAt(raw, msg.HeaderStart); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read header: %w", err)
	}
	names := map[string]bool{}
	for _, k := range append(keep, drop...) {
		names[strings.ToLower(k)] = true
	}
	var out bytes.Buffer
	for _, field := range splitFields(raw) {
		name, _, _ := bytes.Cut(field, []byte(":"))
		in := names[strings.ToLower(string(bytes.TrimSpace(name)))]
		if in == (len(keep) > 0) {
			out.Write(field)
		}
	}
	out.WriteString("\r\n")
	return out.Bytes(), nil
}

// splitFields cuts raw header bytes into fields, each with its
// continuation lines and line breaks, dropping the final blank line.
func splitFields(raw []byte) [][]byte {
	var fields [][]byte
	for len(raw) > 0 {
		end := 0
		for {
			i := bytes.IndexByte(raw[end:], '\n')
			if i < 0 {
				end = len(raw)
				break
			}
			end += i + 1
			if end >= len(raw) || (raw[end] != ' ' && raw[end] != '\t') {
				break
			}
		}
		f := raw[:end]
		raw = raw[end:]
		if len(bytes.TrimRight(f, "\r\n")) == 0 {
			break
		}
		fields = append(fields, f)
	}
	return fields
}

// Binary returns the decoded content of BINARY[path] (RFC 3516): open
// makes a fresh reader each call. The size is found by decoding once.
func (s *Summary) Binary(r io.ReaderAt, path []int) (open func() io.Reader, size int64, err error) {
	p := s.Find(path)
	if p == nil {
		return func() io.Reader { return strings.NewReader("") }, 0, nil
	}
	if len(path) == 0 && (p.IsMultipart() || identity(p.Encoding)) {
		open = func() io.Reader { return span(r, 0, s.Size) }
		return open, s.Size, nil
	}
	if p.IsMultipart() || identity(p.Encoding) {
		open = func() io.Reader { return span(r, p.BodyStart, p.End) }
		return open, p.End - p.BodyStart, nil
	}
	if p.Encoding != "base64" && p.Encoding != "quoted-printable" {
		return nil, 0, ErrUnknownEncoding
	}
	open = func() io.Reader {
		body := contentDecoder(p.Encoding, span(r, p.BodyStart, p.End))
		if len(path) == 0 {
			return io.MultiReader(span(r, p.HeaderStart, p.BodyStart), body)
		}
		return body
	}
	size, err = io.Copy(io.Discard, open())
	if err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", p.Encoding, err)
	}
	return open, size, nil
}

func identity(enc string) bool {
	return enc == "" || enc == "7bit" || enc == "8bit" || enc == "binary"
}

func contentDecoder(enc string, r io.Reader) io.Reader {
	if enc == "base64" {
		return &lenient{r: base64.NewDecoder(base64.StdEncoding, &base64Clean{r: bufio.NewReader(r)})}
	}
	return &lenient{r: quotedprintable.NewReader(r)}
}

// lenient ends the stream at the first decoding error, as mail readers do
// with slightly broken encodings.
type lenient struct{ r io.Reader }

func (l *lenient) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		err = io.EOF
	}
	return n, err
}

// base64Clean drops bytes outside the base64 alphabet (white space,
// stray characters) before decoding.
type base64Clean struct{ r *bufio.Reader }

func (c *base64Clean) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' {
			p[n] = b
			n++
		}
	}
	return n, nil
}
