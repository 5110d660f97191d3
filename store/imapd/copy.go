package imapd

import (
	"github.com/emersion/go-imap/v2"

	"msgplex/store/mailbox"
)

// Copy implements COPY and UID COPY with the UIDPLUS COPYUID answer
// (RFC 4315). Copying into the selected folder itself is allowed.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	res, err := s.copy(numSet, dest)
	if err != nil || res == nil {
		return nil, err
	}
	return copyData(res), nil
}

func (s *session) copy(numSet imap.NumSet, dest string) (*mailbox.CopyResult, error) {
	name, err := s.name(dest)
	if err != nil {
		return nil, err
	}
	uids, err := s.uidsOf(numSet)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	st, err := s.srv.opts.Backend.FolderStatus(ctx, s.user, name)
	if err != nil {
		return nil, s.tryCreate(s.fail("copy", name, err))
	}
	if len(uids) == 0 {
		return &mailbox.CopyResult{UIDValidity: st.UIDValidity}, nil
	}
	dir := s.srv.opts.Backend.FolderDir(s.user, name)
	res, err := s.sel.CopyTo(dir, uids)
	if err != nil {
		return nil, s.fail("copy", name, err)
	}
	s.srv.hub.notify(dir, nil)
	return &res, nil
}

// tryCreate adds [TRYCREATE] to "no such mailbox" (RFC 3501 §6.4.7).
func (s *session) tryCreate(err error) error {
	if err == errNoSuchMailbox {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	return err
}

func copyData(res *mailbox.CopyResult) *imap.CopyData {
	d := &imap.CopyData{UIDValidity: res.UIDValidity}
	for i := range res.SrcUIDs {
		d.SourceUIDs.AddNum(imap.UID(res.SrcUIDs[i]))
		d.DestUIDs.AddNum(imap.UID(res.DstUIDs[i]))
	}
	return d
}
