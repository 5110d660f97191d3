package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

// specialUseAttrs are the RFC 6154 attributes a folder may carry.
var specialUseAttrs = map[string]bool{
	`\All`: true, `\Archive`: true, `\Drafts`: true, `\Flagged`: true,
	`\Junk`: true, `\Sent`: true, `\Trash`: true,
}

// listErr turns the folder list's errors into the store's.
func listErr(err error, uid, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mboxlist.ErrNotFound):
		return fmt.Errorf("folder %q of %s: %w", name, uid, ErrNotFound)
	case errors.Is(err, mboxlist.ErrExists):
		return fmt.Errorf("folder %q of %s: %w", name, uid, ErrExists)
	}
	return fmt.Errorf("store: %w", err)
}

// ensureUserDir creates the user's directory (and its hash parents)
// durably.
func (s *Store) ensureUserDir(uid string) (string, error) {
	dir := userDir(s.root, uid)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("store: user directory: %w", err)
	}
	// Make the new entries durable: =uid in h2, h2 in h1, h1 in =user.
	for d, i := filepath.Dir(dir), 0; i < 3; d, i = filepath.Dir(d), i+1 {
		if err := syncDir(d); err != nil {
			return "", fmt.Errorf("store: %w", err)
		}
	}
	return dir, nil
}

// EnsureUser creates INBOX and the special-use folders (subscribed) if
// the user has no folders yet, and INBOX alone if the user has folders
// but no INBOX. Running it again (or in two processes at once) is
// harmless; a special-use folder the user deleted is not recreated.
func (s *Store) EnsureUser(ctx context.Context, uid string) error {
	if err := ValidateUser(uid); err != nil {
		return err
	}
	have, err := s.list.List(ctx, uid)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	want := []string{Inbox}
	if len(have) == 0 {
		for n := range SpecialUse {
			want = append(want, n)
		}
		sort.Strings(want[1:])
	} else if hasFolder(have, Inbox) {
		return nil
	}
	for _, n := range want {
		err := s.CreateFolder(ctx, uid, n, CreateOptions{SpecialUse: SpecialUse[n], Subscribe: true})
		if err != nil && !errors.Is(err, ErrExists) {
			return err
		}
	}
	return nil
}

func hasFolder(fs []mboxlist.Folder, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// CreateOptions for CreateFolder.
type CreateOptions struct {
	SpecialUse string // "" or one of \Drafts \Sent ...
	Subscribe  bool
}

// CreateFolder creates a folder (its parents are not required) under a
// UIDVALIDITY never used before. It returns ErrExists if the folder is
// listed, or if its directory is on disk without being listed (run
// Reconstruct to adopt such a directory).
func (s *Store) CreateFolder(ctx context.Context, uid, name string, opts CreateOptions) error {
	name, dir, err := s.check(uid, name)
	if err != nil {
		return err
	}
	if opts.SpecialUse != "" && !specialUseAttrs[opts.SpecialUse] {
		return fmt.Errorf("store: create %q of %s: unknown special-use attribute %q", name, uid, opts.SpecialUse)
	}
	if _, err := s.ensureUserDir(uid); err != nil {
		return err
	}
	row := mboxlist.Folder{User: uid, Name: name, SpecialUse: opts.SpecialUse, Subscribed: opts.Subscribe}
	_, err = s.list.Create(ctx, row, func(f mboxlist.Folder) error {
		if _, err := os.Lstat(dir); err == nil {
			return fmt.Errorf("directory %s is on disk but not listed (reconstruct adopts it): %w", dir, mboxlist.ErrExists)
		}
		if err := mailbox.Create(dir, f.UIDValidity); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		return nil
	})
	if err != nil {
		return listErr(err, uid, name)
	}
	s.log.Info("folder created", "user", uid, "folder", name)
	return nil
}

// DeleteFolder deletes a folder and its files. INBOX cannot be deleted;
// folders below it and subscriptions stay.
func (s *Store) DeleteFolder(ctx context.Context, uid, name string) error {
	name, dir, err := s.check(uid, name)
	if err != nil {
		return err
	}
	if name == Inbox {
		return ErrInbox
	}
	return s.deleteFolder(ctx, uid, name, dir)
}

// DeleteUser deletes every folder of a user, INBOX included, and the
// user's subscriptions (an admin's "mboxutil -d user/<uid>"). It returns
// the number of folders deleted.
func (s *Store) DeleteUser(ctx context.Context, uid string) (int, error) {
	if err := ValidateUser(uid); err != nil {
		return 0, err
	}
	folders, err := s.list.List(ctx, uid)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	n := 0
	for _, f := range folders {
		err := s.deleteFolder(ctx, uid, f.Name, folderDir(s.root, uid, f.Name))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
		n++
	}
	if err := s.list.DeleteSubscriptions(ctx, uid); err != nil {
		return n, fmt.Errorf("store: %w", err)
	}
	_ = os.Remove(userDir(s.root, uid)) // only if empty
	return n, nil
}

// deleteFolder removes a folder's row and directory.
func (s *Store) deleteFolder(ctx context.Context, uid, name, dir string) error {
	udir := userDir(s.root, uid)
	trash := ""
	err := s.list.Delete(ctx, uid, name, func(f mboxlist.Folder) error {
		t := filepath.Join(udir, fmt.Sprintf(".deleted.%d.%d", f.UIDValidity, time.Now().UnixNano()))
		if err := os.Rename(dir, t); errors.Is(err, fs.ErrNotExist) {
			return nil // listed without a directory: drop the row
		} else if err != nil {
			return fmt.Errorf("delete %s: %w", dir, err)
		}
		trash = t
		return syncDir(udir)
	})
	if err != nil {
		if trash != "" { // the commit failed after the directory moved
			if rerr := os.Rename(trash, dir); rerr != nil {
				s.log.Error("cannot restore folder directory", "user", uid, "folder", name, "err", rerr)
			}
		}
		return listErr(err, uid, name)
	}
	if trash != "" {
		if err := os.RemoveAll(trash); err != nil {
			s.log.Warn("deleted folder's files not removed", "dir", trash, "err", err)
		}
	}
	s.log.Info("folder deleted", "user", uid, "folder", name)
	return nil
}

// RenameFolder renames a folder and its children. Renaming INBOX moves its
// messages to the new folder and leaves INBOX empty.
func (s *Store) RenameFolder(ctx context.Context, uid, oldName, newName string) error {
	oldName, _, err := s.check(uid, oldName)
	if err != nil {
		return err
	}
	if newName, _, err = s.check(uid, newName); err != nil {
		return err
	}
	switch {
	case oldName == newName:
		return fmt.Errorf("rename %q of %s to itself: %w", oldName, uid, ErrExists)
	case newName == Inbox:
		return fmt.Errorf("rename %q of %s to INBOX: %w", oldName, uid, ErrExists)
	case oldName == Inbox:
		return s.renameInbox(ctx, uid, newName)
	case strings.HasPrefix(newName, oldName+"/"):
		return fmt.Errorf("%w: cannot rename %q of %s below itself", ErrBadName, oldName, uid)
	}
	var done []mboxlist.Rename
	err = s.list.Rename(ctx, uid, oldName, newName, func(rs []mboxlist.Rename) error {
		var err error
		done, err = s.renameDirs(uid, rs)
		return err
	})
	if err != nil {
		s.undoRenames(uid, done)
		return listErr(err, uid, oldName)
	}
	s.log.Info("folder renamed", "user", uid, "from", oldName, "to", newName, "folders", len(done))
	return nil
}

// renameDirs moves the directories of rs; on failure it undoes what it
// did. It returns the renames done.
func (s *Store) renameDirs(uid string, rs []mboxlist.Rename) ([]mboxlist.Rename, error) {
	udir := userDir(s.root, uid)
	var done []mboxlist.Rename
	for _, r := range rs {
		src, dst := filepath.Join(udir, EscapeFolder(r.Old)), filepath.Join(udir, EscapeFolder(r.New))
		if _, err := os.Lstat(dst); err == nil {
			s.undoRenames(uid, done)
			return nil, fmt.Errorf("directory %s is on disk but not listed: %w", dst, mboxlist.ErrExists)
		}
		if err := os.Rename(src, dst); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			s.undoRenames(uid, done)
			return nil, fmt.Errorf("rename %s: %w", src, err)
		}
		done = append(done, r)
	}
	if err := syncDir(udir); err != nil {
		s.undoRenames(uid, done)
		return nil, err
	}
	return done, nil
}

func (s *Store) undoRenames(uid string, done []mboxlist.Rename) {
	udir := userDir(s.root, uid)
	for i := len(done) - 1; i >= 0; i-- {
		src, dst := filepath.Join(udir, EscapeFolder(done[i].New)), filepath.Join(udir, EscapeFolder(done[i].Old))
		if err := os.Rename(src, dst); err != nil {
			s.log.Error("cannot undo folder rename", "user", uid, "from", src, "to", dst, "err", err)
		}
	}
	if len(done) > 0 {
		_ = syncDir(udir)
	}
}

// renameInbox creates newName, moves every message of INBOX into it and
// leaves INBOX empty.
func (s *Store) renameInbox(ctx context.Context, uid, newName string) error {
	f, err := s.list.Get(ctx, uid, Inbox)
	if err != nil {
		return listErr(err, uid, Inbox)
	}
	if err := s.CreateFolder(ctx, uid, newName, CreateOptions{Subscribe: f.Subscribed}); err != nil {
		return err
	}
	if _, err := s.MoveMessages(ctx, uid, Inbox, newName, nil); err != nil {
		return fmt.Errorf("rename INBOX of %s to %q: %w", uid, newName, err)
	}
	return nil
}

// MoveMessages moves messages from folder src to folder dst of one user,
// safely: copied durably first (CopyTo), then expunged from src. uids nil
// moves every message; UIDs src does not have are skipped. The result
// names the UIDs moved and their new UIDs.
func (s *Store) MoveMessages(ctx context.Context, uid, src, dst string, uids []uint32) (mailbox.CopyResult, error) {
	src, _, err := s.check(uid, src)
	if err != nil {
		return mailbox.CopyResult{}, err
	}
	dst, dstDir, err := s.check(uid, dst)
	if err != nil {
		return mailbox.CopyResult{}, err
	}
	if src == dst {
		return mailbox.CopyResult{}, fmt.Errorf("store: move from %q of %s into itself", src, uid)
	}
	if _, err := s.list.Get(ctx, uid, dst); err != nil {
		return mailbox.CopyResult{}, listErr(err, uid, dst)
	}
	// Read-only: a read-write view would claim the \Recent state of the
	// messages that stay, which belongs to the users' next SELECT.
	m, err := s.OpenFolder(ctx, uid, src, true)
	if err != nil {
		return mailbox.CopyResult{}, err
	}
	defer m.Close()
	if uids, err = present(m, uids); err != nil {
		return mailbox.CopyResult{}, fmt.Errorf("store: read %q of %s: %w", src, uid, err)
	}
	if len(uids) == 0 {
		return mailbox.CopyResult{}, nil
	}
	res, err := m.CopyTo(dstDir, uids)
	if err != nil {
		return res, fmt.Errorf("store: copy %d messages of %s from %q to %q: %w", len(uids), uid, src, dst, err)
	}
	if _, err := mailbox.ExpungeUIDs(m.Dir(), res.SrcUIDs); err != nil {
		return res, fmt.Errorf("store: messages of %s copied to %q but not expunged from %q: %w", uid, dst, src, err)
	}
	s.refreshCounts(ctx, uid, src)
	s.refreshCounts(ctx, uid, dst)
	s.log.Info("messages moved", "user", uid, "from", src, "to", dst, "count", len(res.SrcUIDs))
	return res, nil
}

// present returns the UIDs of uids the view has, or all of its UIDs if
// uids is nil.
func present(m *mailbox.Mailbox, uids []uint32) ([]uint32, error) {
	var out []uint32
	if uids == nil {
		err := m.Messages(1, m.Count(), func(msg mailbox.Message) bool {
			out = append(out, msg.UID)
			return true
		})
		return out, err
	}
	for _, u := range uids {
		if _, ok := m.SeqOf(u); ok {
			out = append(out, u)
		}
	}
	return out, nil
}
