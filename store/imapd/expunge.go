package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Expunge implements EXPUNGE, UID EXPUNGE (RFC 4315) and the expunge of
// CLOSE. imapserver calls it for CLOSE with a zero ExpungeWriter: after
// EXAMINE that CLOSE expunges nothing (RFC 3501 §6.4.2), while EXPUNGE
// itself is refused.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	closing := *w == (imapserver.ExpungeWriter{})
	if s.readOnly {
		if closing {
			return nil
		}
		return errReadOnly
	}
	var list []uint32
	if uids != nil {
		var err error
		if list, err = s.uidsOf(*uids); err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
	}
	removed, err := s.sel.Expunge(list)
	if err != nil {
		return s.fail("expunge", s.selName, err)
	}
	if len(removed) > 0 {
		s.changed(s.sel.Dir())
	}
	if closing {
		return nil
	}
	if err := s.sync(true); err != nil {
		return err
	}
	return s.writeExpunges(w.WriteExpunge)
}
