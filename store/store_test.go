package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"msgplex/store/mailbox"
	"msgplex/store/mboxlist"
)

func openStore(t *testing.T, root string) *Store {
	t.Helper()
	s, err := Open(Options{DataRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendN appends n small messages to a folder and returns their total size.
func appendN(t *testing.T, s *Store, uid, folder string, n int) int64 {
	t.Helper()
	m, err := s.OpenFolder(context.Background(), uid, folder, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var size int64
	for i := range n {
		msg := fmt.Sprintf("From: a@example.com\r\nTo: %s@example.com\r\nSubject: m%d\r\n\r\nbody %d of %s\r\n", uid, i, i, folder)
		if _, err := m.Append(bytes.NewReader([]byte(msg)), nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		size += int64(len(msg))
	}
	return size
}

func folderNames(fs []mboxlist.Folder) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestEnsureUser(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	for range 2 {
		if err := s.EnsureUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := s.Folders(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}
	if !reflect.DeepEqual(folderNames(fs), want) {
		t.Fatalf("folders = %v, want %v", folderNames(fs), want)
	}
	for _, f := range fs {
		if f.SpecialUse != SpecialUse[f.Name] || !f.Subscribed || f.UIDValidity == 0 {
			t.Errorf("folder %+v", f)
		}
		if _, err := os.Stat(filepath.Join(s.FolderDir("alice", f.Name), "store.idx")); err != nil {
			t.Errorf("folder %s: %v", f.Name, err)
		}
	}
	subs, _ := s.Subscriptions(ctx, "alice")
	if !reflect.DeepEqual(subs, want) {
		t.Fatalf("subscriptions = %v", subs)
	}
	// A deleted special-use folder is not recreated.
	if err := s.DeleteFolder(ctx, "alice", "Junk"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Folder(ctx, "alice", "Junk"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Junk after EnsureUser: %v", err)
	}
	if users, _ := s.Users(ctx); !reflect.DeepEqual(users, []string{"alice"}) {
		t.Fatalf("users = %v", users)
	}
	if err := s.EnsureUser(ctx, "../x"); !errors.Is(err, ErrBadUser) {
		t.Fatalf("EnsureUser(../x) = %v", err)
	}
}

func TestCreateDeleteStatus(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.CreateFolder(ctx, "bob", "Work/Project", CreateOptions{Subscribe: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder(ctx, "bob", "Work/Project", CreateOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	for _, bad := range []string{"../x", "a/../../b", "\x00", "", "a//b"} {
		if err := s.CreateFolder(ctx, "bob", bad, CreateOptions{}); !errors.Is(err, ErrBadName) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	if err := s.CreateFolder(ctx, "bob", "X", CreateOptions{SpecialUse: `\Bogus`}); err == nil {
		t.Error("create with bogus special-use succeeded")
	}
	size := appendN(t, s, "bob", "Work/Project", 3)
	st, err := s.FolderStatus(ctx, "bob", "Work/Project")
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 3 || st.Size != size {
		t.Fatalf("status = %+v, want 3 messages, %d bytes", st, size)
	}
	fs, _ := s.Folders(ctx, "bob")
	if len(fs) != 1 || fs[0].Messages != 3 || fs[0].Size != size {
		t.Fatalf("folders = %+v", fs)
	}
	// The list's cache was refreshed.
	if f, _ := s.List().Get(ctx, "bob", "Work/Project"); f.Messages != 3 {
		t.Fatalf("cached row = %+v", f)
	}
	uv := fs[0].UIDValidity
	if err := s.DeleteFolder(ctx, "bob", "Work/Project"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.FolderDir("bob", "Work/Project")); !os.IsNotExist(err) {
		t.Fatalf("directory after delete: %v", err)
	}
	if ents, _ := os.ReadDir(s.UserDir("bob")); len(ents) != 0 {
		t.Fatalf("user directory after delete: %v", ents)
	}
	if _, err := s.OpenFolder(ctx, "bob", "Work/Project", true); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("open deleted: %v", err)
	}
	if _, err := s.FolderStatus(ctx, "bob", "Work/Project"); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("status of deleted: %v", err)
	}
	if subs, _ := s.Subscriptions(ctx, "bob"); !reflect.DeepEqual(subs, []string{"Work/Project"}) {
		t.Fatalf("subscription should survive delete: %v", subs)
	}
	if err := s.CreateFolder(ctx, "bob", "Work/Project", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.FolderStatus(ctx, "bob", "Work/Project")
	if st.UIDValidity == uv || st.Messages != 0 {
		t.Fatalf("recreated folder: uidvalidity %d (old %d), %d messages", st.UIDValidity, uv, st.Messages)
	}
	if err := s.DeleteFolder(ctx, "bob", "inbox"); !errors.Is(err, ErrInbox) {
		t.Fatalf("delete INBOX: %v", err)
	}
}

func TestRename(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.EnsureUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"A", "A/b", "A/b/c", "AB"} {
		if err := s.CreateFolder(ctx, "carol", n, CreateOptions{Subscribe: true}); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, s, "carol", "A/b", 2)
	if err := s.RenameFolder(ctx, "carol", "A", "AB"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
	if err := s.RenameFolder(ctx, "carol", "A", "A/b/x"); !errors.Is(err, ErrBadName) {
		t.Fatalf("rename below itself: %v", err)
	}
	if err := s.RenameFolder(ctx, "carol", "A", "Z/A"); err != nil {
		t.Fatal(err)
	}
	st, err := s.FolderStatus(ctx, "carol", "Z/A/b")
	if err != nil || st.Messages != 2 {
		t.Fatalf("Z/A/b after rename: %+v, %v", st, err)
	}
	for _, n := range []string{"A", "A/b", "A/b/c"} {
		if _, err := os.Stat(s.FolderDir("carol", n)); !os.IsNotExist(err) {
			t.Errorf("old directory of %s: %v", n, err)
		}
	}
	subs, _ := s.Subscriptions(ctx, "carol")
	for _, n := range []string{"Z/A", "Z/A/b", "Z/A/b/c", "AB"} {
		if !contains(subs, n) {
			t.Errorf("subscriptions %v lack %s", subs, n)
		}
	}
	if err := s.RenameFolder(ctx, "carol", "Nope", "X"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename missing: %v", err)
	}

	// RENAME INBOX: the messages move, INBOX stays, empty.
	size := appendN(t, s, "carol", "INBOX", 4)
	if err := s.RenameFolder(ctx, "carol", "inbox", "Old Mail"); err != nil {
		t.Fatal(err)
	}
	in, _ := s.FolderStatus(ctx, "carol", "INBOX")
	old, _ := s.FolderStatus(ctx, "carol", "Old Mail")
	if in.Messages != 0 || old.Messages != 4 || old.Size != size {
		t.Fatalf("after RENAME INBOX: INBOX %+v, Old Mail %+v", in, old)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMoveMessages(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.EnsureUser(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "dave", "INBOX", 5)
	res, err := s.MoveMessages(ctx, "dave", "INBOX", "Archive", []uint32{2, 4, 99})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.SrcUIDs, []uint32{2, 4}) || len(res.DstUIDs) != 2 {
		t.Fatalf("result %+v", res)
	}
	in, _ := s.FolderStatus(ctx, "dave", "INBOX")
	ar, _ := s.FolderStatus(ctx, "dave", "Archive")
	if in.Messages != 3 || ar.Messages != 2 {
		t.Fatalf("INBOX %d, Archive %d messages", in.Messages, ar.Messages)
	}
	if _, err := s.MoveMessages(ctx, "dave", "INBOX", "Nowhere", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("move to missing folder: %v", err)
	}
	if _, err := s.MoveMessages(ctx, "dave", "INBOX", "Archive", nil); err != nil {
		t.Fatal(err)
	}
	fs, _ := s.Folders(ctx, "dave")
	for _, f := range fs {
		if f.Name == "INBOX" && f.Messages != 0 || f.Name == "Archive" && f.Messages != 5 {
			t.Fatalf("after moving all: %+v", f)
		}
	}
}

func TestReconstructAdoptsAndRecreates(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.CreateFolder(ctx, "erin", "Found", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	size := appendN(t, s, "erin", "Found", 3)
	before, _ := s.FolderStatus(ctx, "erin", "Found")
	// Forget the folder in the list (as if its directory came from a tar).
	if err := s.List().Delete(ctx, "erin", "Found", nil); err != nil {
		t.Fatal(err)
	}
	if disk, _ := s.FoldersOnDisk("erin"); !reflect.DeepEqual(disk, []string{"Found"}) {
		t.Fatalf("on disk: %v", disk)
	}
	rep, err := s.Reconstruct(ctx, "erin", "Found")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Adopted || rep.Kept != 3 || !rep.UIDValidityKept || rep.UIDValidity != before.UIDValidity ||
		rep.Messages != 3 || rep.Size != size {
		t.Fatalf("report %+v (before %+v)", rep, before)
	}
	f, err := s.Folder(ctx, "erin", "Found")
	if err != nil || !f.Subscribed || f.LastRepair.IsZero() || f.Messages != 3 || f.UIDValidity != before.UIDValidity {
		t.Fatalf("row %+v, %v", f, err)
	}
	// A listed folder whose directory vanished comes back empty, new UIDVALIDITY.
	if err := os.RemoveAll(s.FolderDir("erin", "Found")); err != nil {
		t.Fatal(err)
	}
	rep, err = s.Reconstruct(ctx, "erin", "Found")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Recreated || rep.UIDValidityKept || rep.UIDValidity == before.UIDValidity || rep.Messages != 0 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := s.Reconstruct(ctx, "erin", "Never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reconstruct missing: %v", err)
	}
}

func TestDeleteUser(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.EnsureUser(ctx, "fred"); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "fred", "INBOX", 1)
	n, err := s.DeleteUser(ctx, "fred")
	if err != nil || n != 6 {
		t.Fatalf("DeleteUser = %d, %v", n, err)
	}
	if _, err := os.Stat(s.UserDir("fred")); !os.IsNotExist(err) {
		t.Fatalf("user dir: %v", err)
	}
	if subs, _ := s.Subscriptions(ctx, "fred"); len(subs) != 0 {
		t.Fatalf("subscriptions: %v", subs)
	}
}

// Two Store instances on one data root (as two processes would have)
// used at once: every change lands in both, no "database is locked".
func TestTwoStoresConcurrently(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	stores := []*Store{openStore(t, root), openStore(t, root)}
	const perWorker = 8
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			if err := s.EnsureUser(ctx, "gina"); err != nil {
				errs <- err
				return
			}
			for i := range perWorker {
				name := fmt.Sprintf("W%d/F%d", w, i)
				if err := s.CreateFolder(ctx, "gina", name, CreateOptions{Subscribe: true}); err != nil {
					errs <- err
					return
				}
				if _, err := s.Folders(ctx, "gina"); err != nil {
					errs <- err
					return
				}
				if i%2 == 1 {
					if err := s.RenameFolder(ctx, "gina", name, name+"-r"); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range stores {
		fs, err := s.Folders(ctx, "gina")
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 6+4*perWorker {
			t.Fatalf("%d folders: %v", len(fs), folderNames(fs))
		}
		seen := map[uint32]string{}
		for _, f := range fs {
			if o, dup := seen[f.UIDValidity]; dup {
				t.Fatalf("UIDVALIDITY %d of %s and %s", f.UIDValidity, o, f.Name)
			}
			seen[f.UIDValidity] = f.Name
			if _, err := s.FolderStatus(ctx, "gina", f.Name); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
		}
	}
}

// An admin's move leaves the \Recent state of the messages that stay in
// the source folder (and gives the moved ones \Recent in the target).
func TestMoveMessagesKeepsRecent(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	if err := s.EnsureUser(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "erin", "INBOX", 3)
	if _, err := s.MoveMessages(ctx, "erin", "INBOX", "Archive", []uint32{1}); err != nil {
		t.Fatal(err)
	}
	in, err := s.FolderStatus(ctx, "erin", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := s.FolderStatus(ctx, "erin", "Archive")
	if err != nil {
		t.Fatal(err)
	}
	if in.Messages != 2 || in.Recent != 2 || ar.Recent != 1 {
		t.Errorf("INBOX %d messages %d recent, Archive %d recent; want 2 2 1", in.Messages, in.Recent, ar.Recent)
	}
}
