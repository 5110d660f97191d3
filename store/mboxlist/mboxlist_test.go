package mboxlist

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *DB {
	t.Helper()
	d, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func names(fs []Folder) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestDurableAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := open(t, dir)
	f, err := d.Create(ctx, Folder{User: "alice", Name: "INBOX", Subscribed: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, Folder{User: "alice", Name: "Sent", SpecialUse: `\Sent`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.UpdateCounts(ctx, "alice", "INBOX", Counts{Messages: 7, Size: 7000}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddExpunged(ctx, "alice", "INBOX", 3); err != nil {
		t.Fatal(err)
	}
	rep := time.Unix(1_800_000_000, 5)
	if err := d.SetRepaired(ctx, "alice", "INBOX", rep); err != nil {
		t.Fatal(err)
	}
	if err := d.SetSubscribed(ctx, "alice", "Nonexistent/Folder", true); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d2 := open(t, dir)
	got, err := d2.Get(ctx, "alice", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if got.UIDValidity != f.UIDValidity || got.Messages != 7 || got.Size != 7000 || got.Expunged != 3 ||
		!got.Subscribed || !got.LastRepair.Equal(rep) || got.Created.IsZero() {
		t.Fatalf("after reopen: %+v (created %+v)", got, f)
	}
	list, err := d2.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"INBOX", "Sent"}; !reflect.DeepEqual(names(list), want) {
		t.Fatalf("list = %v, want %v", names(list), want)
	}
	if list[1].SpecialUse != `\Sent` || list[1].Subscribed {
		t.Fatalf("Sent = %+v", list[1])
	}
	subs, err := d2.Subscriptions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"INBOX", "Nonexistent/Folder"}; !reflect.DeepEqual(subs, want) {
		t.Fatalf("subs = %v, want %v", subs, want)
	}
}

func TestUIDValidityNeverRepeats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := open(t, dir)
	// A clock stuck in one second (or going backwards) must not matter.
	fixed := time.Unix(1_700_000_000, 0)
	d.now = func() time.Time { return fixed }
	seen := map[uint32]bool{}
	for i := range 20 {
		f, err := d.Create(ctx, Folder{User: "bob", Name: "Work"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[f.UIDValidity] {
			t.Fatalf("round %d: uidvalidity %d repeated", i, f.UIDValidity)
		}
		seen[f.UIDValidity] = true
		if err := d.Delete(ctx, "bob", "Work", nil); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			fixed = fixed.Add(-time.Hour)
			d.Close()
			d = open(t, dir)
			d.now = func() time.Time { return fixed }
		}
	}
	// A value adopted by Put raises the counter.
	if err := d.Put(ctx, Folder{User: "bob", Name: "Found", UIDValidity: 4_000_000_000}); err != nil {
		t.Fatal(err)
	}
	v, err := d.AllocUIDValidity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v <= 4_000_000_000 {
		t.Fatalf("alloc after put = %d", v)
	}
}

func TestCreateExistsAndRollback(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	if _, err := d.Create(ctx, Folder{User: "a", Name: "X"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(ctx, Folder{User: "a", Name: "X"}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	boom := errors.New("disk full")
	if _, err := d.Create(ctx, Folder{User: "a", Name: "Y", Subscribed: true}, func(Folder) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("create with failing fn: %v", err)
	}
	if _, err := d.Get(ctx, "a", "Y"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Y after rollback: %v", err)
	}
	if subs, _ := d.Subscriptions(ctx, "a"); len(subs) != 0 {
		t.Fatalf("subscriptions after rollback: %v", subs)
	}
	if err := d.Delete(ctx, "a", "X", func(Folder) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("delete with failing fn: %v", err)
	}
	if _, err := d.Get(ctx, "a", "X"); err != nil {
		t.Fatalf("X after failed delete: %v", err)
	}
	if err := d.Delete(ctx, "a", "nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestRenameWithChildren(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	for _, n := range []string{"A", "A/b", "A/b/c", "AB", "A_x", "Z"} {
		if _, err := d.Create(ctx, Folder{User: "u", Name: n, Subscribed: n != "A/b"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Rename(ctx, "u", "A", "Z", nil); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
	var got []Rename
	if err := d.Rename(ctx, "u", "A", "N/A", func(r []Rename) error { got = r; return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Rename{{"A", "N/A"}, {"A/b", "N/A/b"}, {"A/b/c", "N/A/b/c"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("renames = %v, want %v", got, want)
	}
	list, _ := d.List(ctx, "u")
	if w := []string{"AB", "A_x", "N/A", "N/A/b", "N/A/b/c", "Z"}; !reflect.DeepEqual(names(list), w) {
		t.Fatalf("list = %v, want %v", names(list), w)
	}
	subs, _ := d.Subscriptions(ctx, "u")
	if w := []string{"AB", "A_x", "N/A", "N/A/b/c", "Z"}; !reflect.DeepEqual(subs, w) {
		t.Fatalf("subs = %v, want %v", subs, w)
	}
	if err := d.Rename(ctx, "u", "A", "Q", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename missing: %v", err)
	}
}

// Two handles on one file (as two processes would hold) writing at once:
// every write lands, none fails with "database is locked".
func TestConcurrentHandles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbs := []*DB{open(t, dir), open(t, dir)}
	const perWorker = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*perWorker)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := dbs[w%2]
			for i := range perWorker {
				name := fmt.Sprintf("w%d/f%02d", w, i)
				if _, err := d.Create(ctx, Folder{User: "c", Name: name, Subscribed: true}, nil); err != nil {
					errs <- err
					return
				}
				if err := d.UpdateCounts(ctx, "c", name, Counts{Messages: uint32(i), Size: int64(i)}); err != nil {
					errs <- err
					return
				}
				if _, err := d.List(ctx, "c"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	list, err := dbs[1].List(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4*perWorker {
		t.Fatalf("%d folders, want %d", len(list), 4*perWorker)
	}
	seen := map[uint32]bool{}
	for _, f := range list {
		if seen[f.UIDValidity] {
			t.Fatalf("uidvalidity %d given twice", f.UIDValidity)
		}
		seen[f.UIDValidity] = true
	}
}
