// Package store is msgplex's message store: partitions of user
// directories, each folder a directory of index, cache and message files.
//
// (Contract stub: the implementer documents the exact on-disk layout here.)
//
//	<dataroot>/partition/primary/=user/<h1>/<h2>/=<uid>/<folder>/
//	    store.idx  store.cache  store.exp  store.lock  00/ .. 99/<uid>.msg
//	<dataroot>/store/mboxlist/    the folder list (package mboxlist)
//
// h1 and h2 are two hex digits each from a hash of the uid. A folder's
// directory name is its full IMAP name with "/" and "%" %-escaped, so all
// of a user's folders are siblings under the user's directory.
package store

import (
	"context"
	"errors"
	"log/slog"

	"msgplex/store/index"
	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

// Options configure a Store.
type Options struct {
	DataRoot  string
	Budget    *index.Budget
	Summarize mailbox.Summarizer
	Logger    *slog.Logger
}

// Store is one node's message store, shared by all sessions of a process
// and by the admin tools (several processes may open one data root).
type Store struct{}

// Errors callers test for with errors.Is (besides mailbox's).
var (
	ErrBadName = errors.New("store: invalid mailbox name")
	ErrBadUser = errors.New("store: invalid user name")
)

// Open opens (creating if needed) the store at opts.DataRoot.
func Open(opts Options) (*Store, error) { return nil, errors.New("TODO") }

// Close closes the folder list.
func (s *Store) Close() error { return nil }

// MailboxOptions are the options views of this store are opened with.
func (s *Store) MailboxOptions() mailbox.Options { return mailbox.Options{} }

// SpecialUse folders created for every new user, name -> attribute.
var SpecialUse = map[string]string{
	"Drafts": `\Drafts`, "Sent": `\Sent`, "Trash": `\Trash`, "Junk": `\Junk`, "Archive": `\Archive`,
}

// ValidateName checks an IMAP folder name (UTF-8, "/" delimiter): no
// empty, "." or ".." segments, no NUL or control characters, at most 512
// bytes, not starting or ending with "/". "inbox" in any case is INBOX.
func ValidateName(name string) (canonical string, err error) { return "", errors.New("TODO") }

// ValidateUser checks a user id used in paths.
func ValidateUser(uid string) error { return errors.New("TODO") }

// UserDir is the user's directory in the partition.
func (s *Store) UserDir(uid string) string { return "" }

// FolderDir is a folder's directory.
func (s *Store) FolderDir(uid, name string) string { return "" }

// EnsureUser creates INBOX and the special-use folders (subscribed) if
// the user has none yet.
func (s *Store) EnsureUser(ctx context.Context, uid string) error { return errors.New("TODO") }

// CreateOptions for CreateFolder.
type CreateOptions struct {
	SpecialUse string // "" or one of \Drafts \Sent ...
	Subscribe  bool
}

// CreateFolder creates a folder (and its parents are not required).
func (s *Store) CreateFolder(ctx context.Context, uid, name string, opts CreateOptions) error {
	return errors.New("TODO")
}

// DeleteFolder deletes a folder and its files. INBOX cannot be deleted.
func (s *Store) DeleteFolder(ctx context.Context, uid, name string) error { return errors.New("TODO") }

// RenameFolder renames a folder and its children. Renaming INBOX moves its
// messages to the new folder and leaves INBOX empty.
func (s *Store) RenameFolder(ctx context.Context, uid, oldName, newName string) error {
	return errors.New("TODO")
}

// Folders lists a user's folders, sorted by name.
func (s *Store) Folders(ctx context.Context, uid string) ([]mboxlist.Folder, error) {
	return nil, errors.New("TODO")
}

// Users lists every user with folders, sorted.
func (s *Store) Users(ctx context.Context) ([]string, error) { return nil, errors.New("TODO") }

// SetSubscribed subscribes or unsubscribes (the folder need not exist).
func (s *Store) SetSubscribed(ctx context.Context, uid, name string, on bool) error {
	return errors.New("TODO")
}

// Subscriptions lists a user's subscribed names.
func (s *Store) Subscriptions(ctx context.Context, uid string) ([]string, error) {
	return nil, errors.New("TODO")
}

// OpenFolder opens a view of a folder (ErrNotFound if it does not exist).
func (s *Store) OpenFolder(ctx context.Context, uid, name string, readOnly bool) (*mailbox.Mailbox, error) {
	return nil, errors.New("TODO")
}

// FolderStatus reads a folder's figures in O(1).
func (s *Store) FolderStatus(ctx context.Context, uid, name string) (mailbox.Status, error) {
	return mailbox.Status{}, errors.New("TODO")
}

// ReconstructReport says what Reconstruct did.
type ReconstructReport struct {
	Kept, Added, Dropped int
	UIDValidityKept      bool
}

// Reconstruct rebuilds a folder's index and cache from its message files,
// keeping UIDs and flags the old index still has, and giving new UIDs to
// message files it does not know. It records the repair time.
func (s *Store) Reconstruct(ctx context.Context, uid, name string) (ReconstructReport, error) {
	return ReconstructReport{}, errors.New("TODO")
}
