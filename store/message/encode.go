package message

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
)

const magic = "MPS1"

// Encode returns the blob format described in the package doc.
func (s *Summary) Encode() []byte {
	w := &encoder{buf: make([]byte, 0, 512)}
	w.buf = append(w.buf, magic...)
	w.int(s.Size)
	w.envelope(s.Envelope)
	w.part(s.Root)
	return binary.LittleEndian.AppendUint32(w.buf, crc32.ChecksumIEEE(w.buf))
}

type encoder struct{ buf []byte }

func (w *encoder) int(v int64)   { w.buf = binary.AppendVarint(w.buf, v) }
func (w *encoder) uint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }
func (w *encoder) str(s string) {
	w.uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *encoder) strs(l []string) {
	w.uint(uint64(len(l)))
	for _, s := range l {
		w.str(s)
	}
}

func (w *encoder) params(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.uint(uint64(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.str(m[k])
	}
}

// envelope: flag byte (0 nil, 1 present), date (unix seconds, zone offset
// seconds, or a zero flag), subject, six address lists, in-reply-to list,
// message-id.
func (w *encoder) envelope(e *imap.Envelope) {
	if e == nil {
		w.uint(0)
		return
	}
	w.uint(1)
	if e.Date.IsZero() {
		w.uint(0)
	} else {
		_, off := e.Date.Zone()
		w.uint(1)
		w.int(e.Date.Unix())
		w.int(int64(off))
	}
	w.str(e.Subject)
	for _, l := range [][]imap.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.uint(uint64(len(l)))
		for _, a := range l {
			w.str(a.Name)
			w.str(a.Mailbox)
			w.str(a.Host)
		}
	}
	w.strs(e.InReplyTo)
	w.str(e.MessageID)
}

// part: offsets, content fields, lines, children, then a flag and the
// embedded message (envelope and part) for message/rfc822.
func (w *encoder) part(p *Part) {
	w.int(p.HeaderStart)
	w.int(p.BodyStart)
	w.int(p.End)
	for _, s := range []string{p.Type, p.Subtype, p.ID, p.Description, p.Encoding, p.Disposition, p.Location} {
		w.str(s)
	}
	w.params(p.Params)
	w.params(p.DispParams)
	w.strs(p.Language)
	w.int(p.Lines)
	w.uint(uint64(len(p.Children)))
	for _, c := range p.Children {
		w.part(c)
	}
	if p.Message == nil {
		w.uint(0)
		return
	}
	w.uint(1)
	w.envelope(p.Envelope)
	w.part(p.Message)
}

// Decode parses a blob made by Encode.
func Decode(blob []byte) (*Summary, error) {
	if len(blob) < len(magic)+4 || string(blob[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body := blob[:len(blob)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(blob[len(blob)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	d := &decoder{buf: body[len(magic):]}
	s := &Summary{Size: d.int()}
	s.Envelope = d.envelope()
	s.Root = d.part(0)
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err == nil && !s.Root.valid(0, s.Size) {
		d.fail("offsets out of range")
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

type decoder struct {
	buf   []byte
	err   error
	parts int
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.buf = nil
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad integer")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad integer")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads a length that must fit in what is left (each item takes at
// least one byte).
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.buf)) {
		d.fail("length past end")
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count()
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		l = append(l, d.str())
	}
	return l
}

func (d *decoder) params() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) envelope() *imap.Envelope {
	switch d.uint() {
	case 0:
		return nil
	case 1:
	default:
		d.fail("bad envelope flag")
		return nil
	}
	e := &imap.Envelope{}
	switch d.uint() {
	case 0:
	case 1:
		sec, off := d.int(), d.int()
		if off < -24*3600 || off > 24*3600 {
			d.fail("bad zone")
			return nil
		}
		e.Date = time.Unix(sec, 0).In(time.FixedZone("", int(off)))
	default:
		d.fail("bad date flag")
		return nil
	}
	e.Subject = d.str()
	for _, l := range []*[]imap.Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc} {
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			*l = append(*l, imap.Address{Name: d.str(), Mailbox: d.str(), Host: d.str()})
		}
	}
	e.InReplyTo = d.strs()
	e.MessageID = d.str()
	return e
}

func (d *decoder) part(depth int) *Part {
	d.parts++
	if depth > 2*MaxDepth+2 || d.parts > MaxParts+1 {
		d.fail("too deep or too many parts")
	}
	if d.err != nil {
		return &Part{}
	}
	p := &Part{HeaderStart: d.int(), BodyStart: d.int(), End: d.int()}
	for _, s := range []*string{&p.Type, &p.Subtype, &p.ID, &p.Description, &p.Encoding, &p.Disposition, &p.Location} {
		*s = d.str()
	}
	p.Params = d.params()
	p.DispParams = d.params()
	p.Language = d.strs()
	p.Lines = d.int()
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		p.Children = append(p.Children, d.part(depth+1))
	}
	switch d.uint() {
	case 0:
	case 1:
		p.Envelope = d.envelope()
		p.Message = d.part(depth + 1)
	default:
		d.fail("bad message flag")
	}
	if d.err == nil && p.IsMultipart() != (len(p.Children) > 0) {
		d.fail("multipart without children")
	}
	return p
}

// valid checks that offsets nest inside [lo, hi].
func (p *Part) valid(lo, hi int64) bool {
	if !(lo <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= hi) || p.Lines < 0 {
		return false
	}
	for _, c := range p.Children {
		if !c.valid(p.BodyStart, p.End) {
			return false
		}
	}
	return p.Message == nil || p.Message.valid(p.BodyStart, p.End)
}
