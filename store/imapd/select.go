package imapd

import (
	"github.com/emersion/go-imap/v2"
)

var (
	mailboxFlags   = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}
	permanentFlags = append(append([]imap.Flag{}, mailboxFlags...), imap.FlagWildcard)
)

// Select implements SELECT and EXAMINE (RFC 3501 §6.3.1-2); the figures
// come from the index header (O(log n)).
func (s *session) Select(raw string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.closeSelected()
	name, err := s.name(raw)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	f, err := s.srv.opts.Backend.OpenFolder(ctx, s.user, name, options.ReadOnly)
	if err != nil {
		return nil, s.fail("select", name, err)
	}
	s.sel, s.selName, s.readOnly = f, name, options.ReadOnly
	s.sub = s.srv.hub.subscribe(f.Dir())
	st := f.Status()
	data := &imap.SelectData{
		Flags:             mailboxFlags,
		PermanentFlags:    permanentFlags,
		NumMessages:       f.Count(),
		NumRecent:         st.Recent,
		FirstUnseenSeqNum: st.FirstUnseen,
		UIDNext:           imap.UID(st.UIDNext),
		UIDValidity:       st.UIDValidity,
	}
	if options.ReadOnly {
		data.PermanentFlags = nil
	}
	return data, nil
}

// Unselect implements UNSELECT and the end of CLOSE.
func (s *session) Unselect() error {
	s.closeSelected()
	return nil
}

// changed tells the other sessions of this process about a change.
func (s *session) changed(dir string) { s.srv.hub.notify(dir, s.sub) }
