package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"

	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

// ReconstructReport says what Reconstruct did.
type ReconstructReport struct {
	Kept, Added, Dropped int
	UIDValidityKept      bool
	UIDValidity          uint32 // the folder's UIDVALIDITY afterwards
	// Adopted: the directory was on disk but not in the folder list; it
	// is listed (and subscribed) now.
	Adopted bool
	// Recreated: the folder was listed but its directory was gone; it is
	// an empty folder now, under a new UIDVALIDITY.
	Recreated bool
	Messages  uint32 // messages afterwards
	Size      int64  // their total size
}

// Reconstruct rebuilds a folder's index and cache from its message files,
// keeping UIDs and flags the old index still has, and giving new UIDs to
// message files it does not know. It records the repair time, the
// UIDVALIDITY and the figures in the folder list. A directory on disk
// that the list does not know is adopted (listed and subscribed, so the
// user's client shows it); a listed folder without a directory is
// recreated empty. Neither: ErrNotFound.
func (s *Store) Reconstruct(ctx context.Context, uid, name string) (ReconstructReport, error) {
	name, dir, err := s.check(uid, name)
	if err != nil {
		return ReconstructReport{}, err
	}
	row, err := s.list.Get(ctx, uid, name)
	listed := err == nil
	if err != nil && !errors.Is(err, mboxlist.ErrNotFound) {
		return ReconstructReport{}, listErr(err, uid, name)
	}
	onDisk := false
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		onDisk = true
	}
	if !listed && !onDisk {
		return ReconstructReport{}, fmt.Errorf("folder %q of %s: %w", name, uid, ErrNotFound)
	}
	fresh, err := s.list.AllocUIDValidity(ctx)
	if err != nil {
		return ReconstructReport{}, fmt.Errorf("store: %w", err)
	}
	rep, err := s.rebuild(uid, dir, onDisk, fresh)
	if err != nil {
		return rep, fmt.Errorf("store: reconstruct %q of %s: %w", name, uid, err)
	}
	if st, err := mailbox.ReadStatus(dir, s.mbox); err == nil {
		rep.Messages, rep.Size = st.Messages, st.Size
	} else {
		s.log.Warn("folder status unreadable after reconstruct", "user", uid, "folder", name, "err", err)
	}
	row.User, row.Name = uid, name
	row.UIDValidity = rep.UIDValidity
	row.Messages, row.Size = rep.Messages, rep.Size
	row.LastRepair = time.Now()
	row.Subscribed = !listed // adopt: subscribe; else leave subscriptions alone
	rep.Adopted = !listed
	if err := s.list.Put(ctx, row); err != nil {
		return rep, fmt.Errorf("store: record reconstruct of %q of %s: %w", name, uid, err)
	}
	s.log.Info("folder reconstructed", "user", uid, "folder", name, "kept", rep.Kept, "added", rep.Added,
		"dropped", rep.Dropped, "uidvalidity", rep.UIDValidity, "uidvalidity_kept", rep.UIDValidityKept)
	return rep, nil
}

// rebuild reconstructs the folder at dir, or creates it empty under fresh
// if it is not on disk.
func (s *Store) rebuild(uid, dir string, onDisk bool, fresh uint32) (ReconstructReport, error) {
	if !onDisk {
		if _, err := s.ensureUserDir(uid); err != nil {
			return ReconstructReport{}, err
		}
		if err := mailbox.Create(dir, fresh); err != nil {
			return ReconstructReport{}, err
		}
		return ReconstructReport{UIDValidity: fresh, Recreated: true}, nil
	}
	return reconstructDir(dir, fresh, s.mbox)
}

// FoldersOnDisk lists the folder names whose directories are in the
// user's directory, listed or not, sorted. Directory names that are not
// escaped folder names (".deleted.*", stray files) are skipped.
func (s *Store) FoldersOnDisk(uid string) ([]string, error) {
	if err := ValidateUser(uid); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(userDir(s.root, uid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name, ok := UnescapeFolder(e.Name())
		if !ok {
			continue
		}
		if c, err := ValidateName(name); err != nil || c != name {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}
