package imapd

import (
	"context"
	"io"
	"os"
	"time"

	"msgplex/store"
	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

// Folder is one session's view of a folder; *mailbox.Mailbox implements it.
type Folder interface {
	Close() error
	Dir() string
	Status() mailbox.Status
	Count() uint32
	Message(seq uint32) (mailbox.Message, error)
	SeqOf(uid uint32) (seq uint32, ok bool)
	Cache(msg mailbox.Message) ([]byte, error)
	OpenMessage(uid uint32) (*os.File, error)
	Append(r io.Reader, flags []string, date time.Time) (uid uint32, err error)
	Store(uids []uint32, op mailbox.StoreOp, flags []string) error
	Expunge(uids []uint32) ([]uint32, error)
	CopyTo(dstDir string, uids []uint32) (mailbox.CopyResult, error)
	Sync(allowExpunge bool) (mailbox.Changes, error)
	Wait(stop <-chan struct{})
}

// Backend is what sessions need from the store. StoreBackend adapts a
// *store.Store; tests use an in-memory fake.
type Backend interface {
	ValidateName(name string) (string, error)
	EnsureUser(ctx context.Context, uid string) error
	CreateFolder(ctx context.Context, uid, name string, opts store.CreateOptions) error
	DeleteFolder(ctx context.Context, uid, name string) error
	RenameFolder(ctx context.Context, uid, oldName, newName string) error
	Folders(ctx context.Context, uid string) ([]mboxlist.Folder, error)
	SetSubscribed(ctx context.Context, uid, name string, on bool) error
	Subscriptions(ctx context.Context, uid string) ([]string, error)
	OpenFolder(ctx context.Context, uid, name string, readOnly bool) (Folder, error)
	FolderStatus(ctx context.Context, uid, name string) (mailbox.Status, error)
	FolderDir(uid, name string) string
}

// StoreBackend serves sessions from a message store.
func StoreBackend(s *store.Store) Backend { return storeBackend{s} }

type storeBackend struct{ *store.Store }

func (b storeBackend) ValidateName(name string) (string, error) { return store.ValidateName(name) }

func (b storeBackend) OpenFolder(ctx context.Context, uid, name string, readOnly bool) (Folder, error) {
	m, err := b.Store.OpenFolder(ctx, uid, name, readOnly)
	if err != nil {
		return nil, err
	}
	return m, nil
}
