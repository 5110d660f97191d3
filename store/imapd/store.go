package imapd

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"msgplex/store/mailbox"
)

// Store implements STORE and UID STORE (RFC 3501 §6.4.6). Flags are
// stored with canonical case; \Recent cannot be set. Refused after EXAMINE.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if s.readOnly {
		return errReadOnly
	}
	uids, err := s.uidsOf(numSet)
	if err != nil || len(uids) == 0 {
		return err
	}
	if err := s.sel.Store(uids, storeOp(flags.Op), canonFlags(flags.Flags)); err != nil {
		return s.fail("store", s.selName, err)
	}
	s.changed(s.sel.Dir())
	// The view now has the new flags; answer from it.
	if err := s.syncAnswered(uids); err != nil {
		return err
	}
	if flags.Silent {
		return nil
	}
	for _, uid := range uids {
		seq, ok := s.sel.SeqOf(uid)
		if !ok {
			continue
		}
		m, err := s.sel.Message(seq)
		if err != nil {
			return s.fail("read index", s.selName, err)
		}
		rw := w.CreateMessage(seq)
		rw.WriteUID(imap.UID(uid))
		rw.WriteFlags(toFlags(m.Flags, m.Recent))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// storeOp is the mailbox operation of a STORE.
func storeOp(op imap.StoreFlagsOp) mailbox.StoreOp {
	switch op {
	case imap.StoreFlagsAdd:
		return mailbox.FlagsAdd
	case imap.StoreFlagsDel:
		return mailbox.FlagsRemove
	}
	return mailbox.FlagsSet
}

// syncAnswered brings the view forward after this session changed the
// flags of uids, dropping the flag changes Sync reports for them: the
// command's own FETCH responses give those, and an unsolicited FETCH
// FLAGS after them would repeat each.
func (s *session) syncAnswered(uids []uint32) error {
	if err := s.sync(false); err != nil {
		return err
	}
	mine := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		mine[u] = true
	}
	rest := s.pending.Flags[:0]
	for _, m := range s.pending.Flags {
		if !mine[m.UID] {
			rest = append(rest, m)
		}
	}
	s.pending.Flags = rest
	return nil
}
