package imapd

import "github.com/emersion/go-imap/v2"

// Status implements STATUS (RFC 3501 §6.3.10, STATUS=SIZE, APPENDLIMIT)
// from the index header (FolderStatus, O(log n)). Every requested field
// is filled.
func (s *session) Status(raw string, options *imap.StatusOptions) (*imap.StatusData, error) {
	name, err := s.name(raw)
	if err != nil {
		return nil, err
	}
	return s.status(name, options)
}

func (s *session) status(name string, o *imap.StatusOptions) (*imap.StatusData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	st, err := s.srv.opts.Backend.FolderStatus(ctx, s.user, name)
	if err != nil {
		return nil, s.fail("status", name, err)
	}
	d := &imap.StatusData{Mailbox: name}
	u32 := func(v uint32) *uint32 { return &v }
	if o.NumMessages {
		d.NumMessages = u32(st.Messages)
	}
	if o.NumRecent {
		d.NumRecent = u32(st.Recent)
	}
	if o.UIDNext {
		d.UIDNext = imap.UID(st.UIDNext)
	}
	if o.UIDValidity {
		d.UIDValidity = st.UIDValidity
	}
	if o.NumUnseen {
		d.NumUnseen = u32(st.Unseen)
	}
	if o.NumDeleted {
		d.NumDeleted = u32(st.Deleted)
	}
	if o.Size {
		size := st.Size
		d.Size = &size
	}
	if o.AppendLimit {
		d.AppendLimit = u32(uint32(s.srv.opts.AppendLimit))
	}
	if o.DeletedStorage {
		var zero int64
		d.DeletedStorage = &zero
	}
	if o.HighestModSeq {
		d.HighestModSeq = st.HighestModSeq
	}
	return d, nil
}
