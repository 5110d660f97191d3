package imapd

import (
	"github.com/emersion/go-imap/v2"

	"msgplex/store"
)

// Create implements CREATE (RFC 3501 §6.3.3), with CREATE-SPECIAL-USE's
// option when imapserver passes one.
func (s *session) Create(raw string, options *imap.CreateOptions) error {
	name, err := s.name(raw)
	if err != nil {
		return err
	}
	var opts store.CreateOptions
	if options != nil && len(options.SpecialUse) > 0 {
		opts.SpecialUse = string(options.SpecialUse[0])
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.fail("create", name, s.srv.opts.Backend.CreateFolder(ctx, s.user, name, opts))
}

// Delete implements DELETE. INBOX cannot be deleted.
func (s *session) Delete(raw string) error {
	name, err := s.name(raw)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
	}
	if name == s.selName {
		s.closeSelected()
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.fail("delete", name, s.srv.opts.Backend.DeleteFolder(ctx, s.user, name))
}

// Rename implements RENAME; renaming INBOX moves its messages and leaves
// INBOX empty (the store does it).
func (s *session) Rename(rawOld, rawNew string, options *imap.RenameOptions) error {
	oldName, err := s.name(rawOld)
	if err != nil {
		return err
	}
	newName, err := s.name(rawNew)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.fail("rename", oldName, s.srv.opts.Backend.RenameFolder(ctx, s.user, oldName, newName))
}

// Subscribe implements SUBSCRIBE (the folder need not exist).
func (s *session) Subscribe(raw string) error { return s.setSubscribed(raw, true) }

// Unsubscribe implements UNSUBSCRIBE.
func (s *session) Unsubscribe(raw string) error { return s.setSubscribed(raw, false) }

func (s *session) setSubscribed(raw string, on bool) error {
	name, err := s.name(raw)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.fail("subscribe", name, s.srv.opts.Backend.SetSubscribed(ctx, s.user, name, on))
}
