package imapd

import (
	"fmt"
	"io"
	"os"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"msgplex/store/mailbox"
	"msgplex/store/message"
)

// Fetch implements FETCH and UID FETCH (RFC 3501 §6.4.5, RFC 3516
// BINARY). ENVELOPE and BODYSTRUCTURE come from the cache; body sections
// are streamed from the message file. A non-peek BODY[] sets \Seen
// unless the folder was EXAMINEd.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	markSeen := !s.readOnly && setsSeen(options)
	var seen []uint32
	var flagBuf []imap.Flag // reused: WriteFlags does not keep it
	err := s.forEach(numSet, func(m mailbox.Message) error {
		if markSeen && !hasFlag(m.Flags, `\Seen`) {
			seen = append(seen, m.UID)
			m.Flags = append(m.Flags, `\Seen`)
		}
		return s.fetchOne(w, m, options, markSeen, &flagBuf)
	})
	if err != nil {
		return err
	}
	if len(seen) > 0 {
		if err := s.sel.Store(seen, mailbox.FlagsAdd, []string{`\Seen`}); err != nil {
			return s.fail("store \\Seen", s.selName, err)
		}
		s.changed(s.sel.Dir())
		return s.syncAnswered(seen)
	}
	return nil
}

func setsSeen(o *imap.FetchOptions) bool {
	for _, b := range o.BodySection {
		if !b.Peek {
			return true
		}
	}
	for _, b := range o.BinarySection {
		if !b.Peek {
			return true
		}
	}
	return false
}

func (s *session) fetchOne(w *imapserver.FetchWriter, m mailbox.Message, o *imap.FetchOptions, flagsChanged bool, flagBuf *[]imap.Flag) error {
	rw := w.CreateMessage(m.Seq)
	if o.UID {
		rw.WriteUID(imap.UID(m.UID))
	}
	if o.Flags || flagsChanged {
		*flagBuf = appendFlags((*flagBuf)[:0], m.Flags, m.Recent)
		rw.WriteFlags(*flagBuf)
	}
	if o.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	needSummary := o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
	if needSummary {
		if err := s.fetchContent(rw, m, o); err != nil {
			rw.Close()
			return err
		}
	}
	return rw.Close()
}

func (s *session) summary(m mailbox.Message) (*message.Summary, error) {
	blob, err := s.sel.Cache(m)
	if err != nil {
		return nil, s.fail("read cache", s.selName, err)
	}
	sum, err := message.Decode(blob)
	if err != nil {
		return nil, s.fail("decode cache", s.selName, fmt.Errorf("uid %d: %w: %w", m.UID, mailbox.ErrCorrupt, err))
	}
	return sum, nil
}

func (s *session) fetchContent(rw *imapserver.FetchResponseWriter, m mailbox.Message, o *imap.FetchOptions) error {
	sum, err := s.summary(m)
	if err != nil {
		return err
	}
	if o.Envelope {
		rw.WriteEnvelope(sum.Envelope)
	}
	if o.BodyStructure != nil {
		rw.WriteBodyStructure(sum.BodyStructure())
	}
	if len(o.BodySection) == 0 && len(o.BinarySection) == 0 && len(o.BinarySectionSize) == 0 {
		return nil
	}
	f, err := s.sel.OpenMessage(m.UID)
	if err != nil {
		return s.fail("open message", s.selName, err)
	}
	defer f.Close()
	for _, sec := range o.BodySection {
		if err := s.writeSection(rw, f, sum, sec); err != nil {
			return err
		}
	}
	for _, sec := range o.BinarySection {
		if err := s.writeBinary(rw, f, sum, sec); err != nil {
			return err
		}
	}
	for _, sec := range o.BinarySectionSize {
		_, size, err := sum.Binary(f, sec.Part)
		if err != nil {
			return s.binaryErr(err)
		}
		rw.WriteBinarySectionSize(sec, uint32(min(size, 1<<32-1)))
	}
	return nil
}

func (s *session) writeSection(rw *imapserver.FetchResponseWriter, f *os.File, sum *message.Summary, sec *imap.FetchItemBodySection) error {
	sr, err := sum.Section(f, sec)
	if err != nil {
		return s.fail("read section", s.selName, err)
	}
	sr = message.Partial(sr, sec.Partial)
	lw := rw.WriteBodySection(sec, sr.Size())
	if _, err := io.Copy(lw, sr); err != nil {
		lw.Close()
		return fmt.Errorf("write body section: %w", err)
	}
	return lw.Close()
}

func (s *session) writeBinary(rw *imapserver.FetchResponseWriter, f *os.File, sum *message.Summary, sec *imap.FetchItemBinarySection) error {
	open, size, err := sum.Binary(f, sec.Part)
	if err != nil {
		return s.binaryErr(err)
	}
	r := open()
	if p := sec.Partial; p != nil {
		off := min(max(p.Offset, 0), size)
		if _, err := io.CopyN(io.Discard, r, off); err != nil {
			return s.fail("read binary", s.selName, err)
		}
		size = min(max(p.Size, 0), size-off)
		r = io.LimitReader(r, size)
	}
	lw := rw.WriteBinarySection(sec, size)
	if _, err := io.CopyN(lw, r, size); err != nil {
		lw.Close()
		return fmt.Errorf("write binary section: %w", err)
	}
	return lw.Close()
}

func (s *session) binaryErr(err error) error {
	if err == message.ErrUnknownEncoding {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE, Text: "Unknown Content-Transfer-Encoding"}
	}
	return s.fail("decode binary", s.selName, err)
}
