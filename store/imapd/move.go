package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Move implements MOVE and UID MOVE (RFC 6851): copy, then expunge the
// originals, reporting COPYUID and the EXPUNGEs once (the expunges come
// from the view's Sync, like every other). Moving into the selected
// folder itself gives the messages new UIDs there.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.readOnly {
		return errReadOnly
	}
	res, err := s.copy(numSet, dest)
	if err != nil {
		return err
	}
	if len(res.SrcUIDs) == 0 {
		return nil
	}
	if err := w.WriteCopyData(copyData(res)); err != nil {
		return err
	}
	if _, err := s.sel.Expunge(res.SrcUIDs); err != nil {
		return s.fail("move: expunge", s.selName, err)
	}
	s.changed(s.sel.Dir())
	if err := s.sync(true); err != nil {
		return err
	}
	return s.writeExpunges(w.WriteExpunge)
}
