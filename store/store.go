// Package store is msgplex's message store: partitions of user
// directories, each folder a directory of index, cache and message files,
// and the folder list (package mboxlist) that says which folders exist.
//
// # On-disk layout
//
//	<dataroot>/
//	  partition/primary/=user/<h1>/<h2>/=<uid>/      one user
//	      INBOX/                                     a folder (package mailbox)
//	          store.idx  store.cache  store.exp  store.lock  00/ .. 99/<uid>.msg
//	      Sent/  Work%2FProject/  %2Ehidden/  ...    the user's other folders
//	      .deleted.<uidvalidity>.<unixnano>/         a folder being deleted
//	  store/mboxlist/mboxlist.db                     the folder list (package mboxlist)
//
// <uid> is the user id as given (ValidateUser: no "/", no "..", no control
// characters, at most 255 bytes). h1 and h2 are the first and second byte
// of SHA-256(<uid>) as two lower-case hex digits each, so an admin finds a
// user's directory with
//
//	h=$(printf %s alice | sha256sum); echo =user/${h:0:2}/${h:2:2}/=alice
//
// A folder's directory name is its full canonical IMAP name (ValidateName)
// with "%" written "%25", "/" written "%2F" and a leading "." written
// "%2E" (EscapeFolder), so all of a user's folders are siblings under the
// user's directory, no folder name can climb out of it, and names that
// start with "." are free for the store's own use.
//
// # Folder existence and the folder list
//
// A folder exists when its row is in the mboxlist; its directory holds its
// data. CreateFolder, DeleteFolder and RenameFolder change the directory
// inside the mboxlist write transaction, so a failure on disk undoes the
// row change. A crash between the two can leave a directory without a row
// (Reconstruct adds it back) or a row without a directory (Reconstruct
// recreates an empty folder under a new UIDVALIDITY). DeleteFolder first
// renames the directory to ".deleted.*" (atomic), then removes it after
// the commit; a leftover ".deleted.*" directory is garbage and may be
// removed by hand.
//
// The message counts and sizes in the list are a cache of the index
// headers, refreshed when folders are listed (Folders), not on each
// append; FolderStatus always reads the index header (O(log n): two
// binary searches besides the header).
//
// Several processes may open one data root at once (the store daemon, its
// workers, the admin tools): the list is SQLite in WAL mode (see package
// mboxlist), the folders lock themselves (package mailbox).
//
// # Hierarchy
//
// The hierarchy delimiter is "/". Parents are not required: "a/b" may
// exist without "a". RENAME moves a folder and every folder below it (and
// their subscriptions); RENAME of INBOX creates the new folder, moves
// every message into it (copy, then expunge) and leaves INBOX empty;
// folders below INBOX are not moved (RFC 9051 6.3.6). DELETE removes one
// folder, not the folders below it, and keeps subscriptions (RFC 9051).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"msgplex/store/index"
	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

// PrimaryPartition is the one partition this version uses.
const PrimaryPartition = "primary"

// DefaultBudget is the index mapping budget when Options.Budget is nil.
const DefaultBudget = 1 << 30

// Options configure a Store.
type Options struct {
	DataRoot string
	// Budget accounts mapped index bytes for the process. Nil: a new
	// budget of DefaultBudget.
	Budget    *index.Budget
	Summarize mailbox.Summarizer
	// Logger receives notices. Nil discards.
	Logger *slog.Logger
	// Watch starts one shared inotify watcher for the views' Wait (IDLE):
	// daemons set it, admin tools need not.
	Watch bool
}

// Store is one node's message store, shared by all sessions of a process
// and by the admin tools (several processes may open one data root). It is
// safe for concurrent use.
type Store struct {
	root string
	list *mboxlist.DB
	mbox mailbox.Options
	log  *slog.Logger
}

// Errors callers test for with errors.Is (besides mailbox's).
var (
	ErrBadName = errors.New("store: invalid mailbox name")
	ErrBadUser = errors.New("store: invalid user name")
	// ErrNotFound and ErrExists are mailbox's, so either name matches.
	ErrNotFound = mailbox.ErrNotFound
	ErrExists   = mailbox.ErrExists
	// ErrInbox is returned for deleting INBOX.
	ErrInbox = errors.New("store: INBOX cannot be deleted")
)

// Open opens (creating if needed) the store at opts.DataRoot.
func Open(opts Options) (*Store, error) {
	if opts.DataRoot == "" {
		return nil, errors.New("store: no data root")
	}
	root, err := filepath.Abs(opts.DataRoot)
	if err != nil {
		return nil, fmt.Errorf("store: data root: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "partition", PrimaryPartition, "=user"), 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	list, err := mboxlist.Open(context.Background(), filepath.Join(root, "store", "mboxlist"))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	budget := opts.Budget
	if budget == nil {
		budget = index.NewBudget(DefaultBudget)
	}
	mopts := mailbox.Options{Budget: budget, Summarize: opts.Summarize, Logger: log}
	if opts.Watch {
		// One inotify instance for the whole process (the kernel allows
		// few per user); without it every waiting view opens its own.
		w, err := mailbox.NewWatcher(log)
		if err != nil {
			log.Warn("no shared folder watcher; IDLE falls back to per-view watchers or polling", "err", err)
		} else {
			mopts.Watcher = w
		}
	}
	return &Store{root: root, list: list, mbox: mopts, log: log}, nil
}

// Close closes the folder list and the folder watcher.
func (s *Store) Close() error {
	var werr error
	if s.mbox.Watcher != nil {
		werr = s.mbox.Watcher.Close()
	}
	return errors.Join(s.list.Close(), werr)
}

// DataRoot is the store's data root (absolute).
func (s *Store) DataRoot() string { return s.root }

// List is the folder list, for tools that need more than Store offers
// (the maintenance queue records repairs and expunges through it).
func (s *Store) List() *mboxlist.DB { return s.list }

// MailboxOptions are the options views of this store are opened with.
func (s *Store) MailboxOptions() mailbox.Options { return s.mbox }

// SpecialUse folders created for every new user, name -> attribute.
var SpecialUse = map[string]string{
	"Drafts": `\Drafts`, "Sent": `\Sent`, "Trash": `\Trash`, "Junk": `\Junk`, "Archive": `\Archive`,
}

// UserDir is the user's directory in the partition. The uid must have
// passed ValidateUser; an invalid one gives "".
func (s *Store) UserDir(uid string) string {
	if ValidateUser(uid) != nil {
		return ""
	}
	return userDir(s.root, uid)
}

// FolderDir is a folder's directory. uid must pass ValidateUser and name
// must be canonical (ValidateName); otherwise it returns "".
func (s *Store) FolderDir(uid, name string) string {
	if ValidateUser(uid) != nil {
		return ""
	}
	if c, err := ValidateName(name); err != nil || c != name {
		return ""
	}
	return folderDir(s.root, uid, name)
}

// check validates uid and name and returns the canonical name and its
// directory.
func (s *Store) check(uid, name string) (canonical, dir string, err error) {
	if err := ValidateUser(uid); err != nil {
		return "", "", err
	}
	if canonical, err = ValidateName(name); err != nil {
		return "", "", err
	}
	return canonical, folderDir(s.root, uid, canonical), nil
}

// folderDir is a folder's directory (uid and name already checked).
func folderDir(root, uid, name string) string {
	return filepath.Join(userDir(root, uid), EscapeFolder(name))
}

// syncDir fsyncs a directory so entries created or renamed in it are
// durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
