package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

// Folders lists a user's folders, sorted by name, with message counts and
// sizes read from each folder's index header (O(1) per folder; the list's
// cached figures are updated when they differ). A folder whose header
// cannot be read keeps its cached figures.
func (s *Store) Folders(ctx context.Context, uid string) ([]mboxlist.Folder, error) {
	if err := ValidateUser(uid); err != nil {
		return nil, err
	}
	fs, err := s.list.List(ctx, uid)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	udir := userDir(s.root, uid)
	for i := range fs {
		st, err := mailbox.ReadStatus(filepath.Join(udir, EscapeFolder(fs[i].Name)), s.mbox)
		if err != nil {
			s.log.Debug("folder status unreadable, using the list's figures", "user", uid, "folder", fs[i].Name, "err", err)
			continue
		}
		if st.Messages != fs[i].Messages || st.Size != fs[i].Size {
			fs[i].Messages, fs[i].Size = st.Messages, st.Size
			if err := s.list.UpdateCounts(ctx, uid, fs[i].Name, mboxlist.Counts{Messages: st.Messages, Size: st.Size}); err != nil {
				s.log.Warn("folder counts not recorded", "user", uid, "folder", fs[i].Name, "err", err)
			}
		}
	}
	return fs, nil
}

// refreshCounts updates one folder's cached figures from its header.
func (s *Store) refreshCounts(ctx context.Context, uid, name string) {
	st, err := mailbox.ReadStatus(folderDir(s.root, uid, name), s.mbox)
	if err != nil {
		s.log.Warn("folder status unreadable", "user", uid, "folder", name, "err", err)
		return
	}
	if err := s.list.UpdateCounts(ctx, uid, name, mboxlist.Counts{Messages: st.Messages, Size: st.Size}); err != nil {
		s.log.Warn("folder counts not recorded", "user", uid, "folder", name, "err", err)
	}
}

// Folder returns one folder's row from the list (figures as cached).
func (s *Store) Folder(ctx context.Context, uid, name string) (mboxlist.Folder, error) {
	name, _, err := s.check(uid, name)
	if err != nil {
		return mboxlist.Folder{}, err
	}
	f, err := s.list.Get(ctx, uid, name)
	return f, listErr(err, uid, name)
}

// Users lists every user with folders, sorted.
func (s *Store) Users(ctx context.Context) ([]string, error) {
	u, err := s.list.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return u, nil
}

// SetSubscribed subscribes or unsubscribes (the folder need not exist).
func (s *Store) SetSubscribed(ctx context.Context, uid, name string, on bool) error {
	name, _, err := s.check(uid, name)
	if err != nil {
		return err
	}
	if err := s.list.SetSubscribed(ctx, uid, name, on); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Subscriptions lists a user's subscribed names, sorted.
func (s *Store) Subscriptions(ctx context.Context, uid string) ([]string, error) {
	if err := ValidateUser(uid); err != nil {
		return nil, err
	}
	subs, err := s.list.Subscriptions(ctx, uid)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return subs, nil
}

// OpenFolder opens a view of a folder (ErrNotFound if it is not listed or
// its directory is gone).
func (s *Store) OpenFolder(ctx context.Context, uid, name string, readOnly bool) (*mailbox.Mailbox, error) {
	name, dir, err := s.check(uid, name)
	if err != nil {
		return nil, err
	}
	if _, err := s.list.Get(ctx, uid, name); err != nil {
		return nil, listErr(err, uid, name)
	}
	m, err := mailbox.Open(dir, readOnly, s.mbox)
	if err != nil {
		return nil, folderErr(err, uid, name)
	}
	return m, nil
}

// FolderStatus reads a folder's figures from its index header (plus two
// binary searches of the records: O(log n)).
func (s *Store) FolderStatus(ctx context.Context, uid, name string) (mailbox.Status, error) {
	name, dir, err := s.check(uid, name)
	if err != nil {
		return mailbox.Status{}, err
	}
	st, err := mailbox.ReadStatus(dir, s.mbox)
	if err != nil {
		return st, folderErr(err, uid, name)
	}
	return st, nil
}

// folderErr names the folder in a mailbox error and makes a missing
// directory ErrNotFound.
func folderErr(err error, uid, name string) error {
	if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("folder %q of %s: %w (%v)", name, uid, ErrNotFound, err)
	}
	return fmt.Errorf("folder %q of %s: %w", name, uid, err)
}
