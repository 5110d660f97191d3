package imapd

import (
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
)

// AppendLimit implements APPENDLIMIT (RFC 7889).
func (s *session) AppendLimit() uint32 { return uint32(s.srv.opts.AppendLimit) }

// Append implements APPEND with the UIDPLUS APPENDUID answer. The message
// is durable (file, cache and index record) before the reply.
func (s *session) Append(raw string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if r.Size() > s.srv.opts.AppendLimit {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: fmt.Sprintf("Message larger than %d bytes", s.srv.opts.AppendLimit)}
	}
	name, err := s.name(raw)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// A read-only view: a read-write one would claim the \Recent state
	// of messages the sessions that have the folder selected have not
	// been told about yet.
	f, err := s.srv.opts.Backend.OpenFolder(ctx, s.user, name, true)
	if err != nil {
		return nil, s.tryCreate(s.fail("append", name, err))
	}
	defer f.Close()
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	uid, err := f.Append(r, canonFlags(options.Flags), date)
	if err != nil {
		return nil, s.fail("append", name, err)
	}
	s.srv.hub.notify(f.Dir(), nil)
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: f.Status().UIDValidity}, nil
}
