package message

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

type readerAt = io.ReaderAt

// parser walks one message file, entity by entity.
type parser struct {
	r     io.ReaderAt
	size  int64
	parts int
}

// lineScanner yields the lines of [from, to) with their offsets. A line
// longer than the buffer comes in several fragments; only the first has
// start set.
type lineScanner struct {
	br    *bufio.Reader
	off   int64
	start bool
}

func newLineScanner(r io.ReaderAt, from, to int64) *lineScanner {
	return &lineScanner{br: bufio.NewReaderSize(io.NewSectionReader(r, from, to-from), 64<<10), off: from, start: true}
}

// next returns the next fragment, its offset and whether it starts a line.
func (s *lineScanner) next() (frag []byte, off int64, lineStart bool, err error) {
	frag, err = s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		err = nil
	}
	if len(frag) == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, s.off, false, err
	}
	off, lineStart = s.off, s.start
	s.off += int64(len(frag))
	s.start = frag[len(frag)-1] == '\n'
	return frag, off, lineStart, nil
}

// header finds the end of the header starting at from: the offset after
// the blank line (or end if there is none) and the header bytes (at most
// MaxHeader of them).
func (p *parser) header(from, end int64) (raw []byte, bodyStart int64, err error) {
	s := newLineScanner(p.r, from, end)
	var buf bytes.Buffer
	for {
		frag, off, lineStart, err := s.next()
		if err == io.EOF {
			return buf.Bytes(), end, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read header at %d: %w", from, err)
		}
		if lineStart && (string(frag) == "\r\n" || string(frag) == "\n") {
			buf.Write(frag)
			return buf.Bytes(), off + int64(len(frag)), nil
		}
		if buf.Len()+len(frag) <= MaxHeader {
			buf.Write(frag)
		}
	}
}

// parseHeader parses raw header bytes leniently: lines that are not
// fields (an mbox "From " line, garbage) are skipped, not fatal.
func parseHeader(raw []byte) textproto.Header {
	var kvs [][]byte
	for _, f := range splitFields(raw) {
		name, _, ok := bytes.Cut(f, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t\r\n") {
			continue
		}
		kv := bytes.TrimRight(f, "\r\n")
		kvs = append(kvs, append(kv[:len(kv):len(kv)], "\r\n"...))
	}
	// textproto keeps fields newest first: add them last to first so that
	// Get returns the first occurrence in the file, as ReadHeader does.
	var h textproto.Header
	for i := len(kvs) - 1; i >= 0; i-- {
		h.AddRaw(kvs[i])
	}
	return h
}

// entity parses the entity spanning [from, end). parentType is the
// parent multipart's subtype ("digest" changes the default type).
func (p *parser) entity(from, end int64, parentSub string, depth int) (*Part, error) {
	p.parts++
	raw, bodyStart, err := p.header(from, end)
	if err != nil {
		return nil, err
	}
	h := gomessage.Header{Header: parseHeader(raw)}
	part := &Part{HeaderStart: from, BodyStart: bodyStart, End: end}
	fillContentFields(part, h, parentSub)
	switch {
	case part.IsMultipart() && depth < MaxDepth && p.parts < MaxParts:
		if err := p.multipart(part, depth); err != nil {
			return nil, err
		}
	case part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global") && depth < MaxDepth && p.parts < MaxParts:
		sub, err := p.entity(bodyStart, end, "", depth+1)
		if err != nil {
			return nil, err
		}
		part.Message = sub
		if part.Envelope, err = p.envelopeAt(sub); err != nil {
			return nil, err
		}
	}
	if part.IsMultipart() && len(part.Children) == 0 {
		// A multipart with no boundary or no parts is served as opaque text.
		part.Type, part.Subtype = "text", "plain"
	}
	if part.Type == "text" || part.Message != nil {
		if part.Lines, err = p.countLines(bodyStart, end); err != nil {
			return nil, err
		}
	}
	return part, nil
}

func fillContentFields(part *Part, h gomessage.Header, parentSub string) {
	mt, params, err := h.ContentType()
	if mt == "" && err == nil && !h.Has("Content-Type") && parentSub == "digest" {
		mt = "message/rfc822"
	}
	typ, sub, ok := strings.Cut(strings.ToLower(mt), "/")
	if !ok || typ == "" || sub == "" {
		typ, sub = "text", "plain"
		if !h.Has("Content-Type") || params == nil {
			params = map[string]string{"charset": "us-ascii"}
		}
	}
	if typ == "multipart" && params["boundary"] == "" {
		typ, sub = "text", "plain"
	}
	part.Type, part.Subtype, part.Params = typ, sub, params
	part.ID = h.Get("Content-Id")
	part.Description = h.Get("Content-Description")
	part.Encoding = strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if part.Encoding == "" {
		part.Encoding = "7bit"
	}
	if disp, dp, err := h.ContentDisposition(); disp != "" && err == nil {
		part.Disposition, part.DispParams = strings.ToLower(disp), dp
	}
	if v := h.Get("Content-Language"); v != "" {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				part.Language = append(part.Language, l)
			}
		}
	}
	part.Location = h.Get("Content-Location")
}

// multipart finds the children of part between its delimiter lines.
func (p *parser) multipart(part *Part, depth int) error {
	delim := []byte("--" + part.Params["boundary"])
	s := newLineScanner(p.r, part.BodyStart, part.End)
	var (
		inPart    bool
		partStart int64
		lastEOL   int64
		bounds    [][2]int64
	)
	for {
		frag, off, lineStart, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read multipart at %d: %w", off, err)
		}
		if lineStart {
			if closing, ok := isDelimiter(frag, delim); ok {
				if inPart {
					bounds = append(bounds, [2]int64{partStart, max(partStart, off-lastEOL)})
				}
				inPart, partStart = !closing, off+int64(len(frag))
				if closing {
					break
				}
			}
		}
		lastEOL = eolLen(frag)
	}
	if inPart {
		bounds = append(bounds, [2]int64{partStart, part.End})
	}
	for _, b := range bounds {
		if p.parts >= MaxParts {
			break
		}
		child, err := p.entity(b[0], b[1], part.Subtype, depth+1)
		if err != nil {
			return err
		}
		part.Children = append(part.Children, child)
	}
	return nil
}

// isDelimiter matches "--boundary" or "--boundary--" followed only by
// linear white space (RFC 2046 §5.1.1).
func isDelimiter(line, delim []byte) (closing, ok bool) {
	if !bytes.HasPrefix(line, delim) {
		return false, false
	}
	rest := line[len(delim):]
	if bytes.HasPrefix(rest, []byte("--")) {
		closing, rest = true, rest[2:]
	}
	if len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return false, false
	}
	return closing, true
}

func eolLen(frag []byte) int64 {
	switch {
	case bytes.HasSuffix(frag, []byte("\r\n")):
		return 2
	case bytes.HasSuffix(frag, []byte("\n")):
		return 1
	}
	return 0
}

// countLines counts line feeds in [from, to).
func (p *parser) countLines(from, to int64) (int64, error) {
	buf := make([]byte, 32<<10)
	r := io.NewSectionReader(p.r, from, to-from)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("count lines at %d: %w", from, err)
		}
	}
}

// envelopeAt builds the ENVELOPE of the message whose root is part.
func (p *parser) envelopeAt(part *Part) (*imap.Envelope, error) {
	raw, _, err := p.header(part.HeaderStart, part.BodyStart)
	if err != nil {
		return nil, err
	}
	return Envelope(parseHeader(raw)), nil
}
