package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// sync brings the view forward and queues what it reports.
func (s *session) sync(allowExpunge bool) error {
	ch, err := s.sel.Sync(allowExpunge)
	if err != nil {
		return s.fail("sync", s.selName, err)
	}
	s.pending.Expunged = append(s.pending.Expunged, ch.Expunged...)
	if ch.Messages != 0 {
		s.pending.Messages = ch.Messages
	}
	s.pending.Flags = append(s.pending.Flags, ch.Flags...)
	return nil
}

// writeExpunges writes the pending expunges (EXPUNGE, MOVE, Poll).
func (s *session) writeExpunges(write func(seq uint32) error) error {
	l := s.pending.Expunged
	s.pending.Expunged = nil
	for _, seq := range l {
		if err := write(seq); err != nil {
			return err
		}
	}
	return nil
}

// Poll implements the unilateral updates after each command.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel == nil {
		return nil
	}
	if err := s.sync(allowExpunge); err != nil {
		return err
	}
	return s.flush(w, allowExpunge)
}

func (s *session) flush(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if allowExpunge {
		if err := s.writeExpunges(w.WriteExpunge); err != nil {
			return err
		}
	}
	if n := s.pending.Messages; n != 0 {
		s.pending.Messages = 0
		if err := w.WriteNumMessages(n); err != nil {
			return err
		}
		if err := w.WriteNumRecent(s.sel.Status().Recent); err != nil {
			return err
		}
	}
	flags := s.pending.Flags
	s.pending.Flags = nil
	for _, m := range flags {
		if seq, ok := s.sel.SeqOf(m.UID); ok {
			if err := w.WriteMessageFlags(seq, imap.UID(m.UID), toFlags(m.Flags, m.Recent)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Idle implements IDLE (RFC 2177): updates as soon as this process's
// sessions or another process change the folder.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.sel == nil {
		<-stop
		return nil
	}
	if err := s.Poll(w, true); err != nil {
		return err
	}
	for {
		woke := make(chan struct{})
		quit := make(chan struct{})
		go func() {
			s.sel.Wait(quit)
			close(woke)
		}()
		select {
		case <-stop:
			close(quit)
			<-woke
			return nil
		case <-s.sub.kick:
			close(quit)
			<-woke
		case <-woke:
			close(quit)
		}
		if err := s.Poll(w, true); err != nil {
			return err
		}
	}
}
