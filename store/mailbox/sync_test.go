package mailbox

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestStoreFlags(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	for i := 1; i <= 4; i++ {
		mustAppend(t, dir, i)
	}
	opts := testOpts(1 << 20)
	m := mustOpen(t, dir, false, opts)
	tests := []struct {
		uids  []uint32
		op    StoreOp
		flags []string
		uid   uint32
		want  []string
	}{
		{[]uint32{1, 2}, FlagsAdd, []string{`\seen`, "Work"}, 1, []string{"Work", `\Seen`}},
		{[]uint32{2}, FlagsAdd, []string{"WORK", `\Flagged`}, 2, []string{"Work", `\Flagged`, `\Seen`}},
		{[]uint32{2}, FlagsRemove, []string{"work"}, 2, []string{`\Flagged`, `\Seen`}},
		{[]uint32{3}, FlagsSet, []string{`\Deleted`, `\Draft`, `\Recent`}, 3, []string{`\Deleted`, `\Draft`}},
		{[]uint32{3, 99}, FlagsSet, nil, 3, []string{}},
		{[]uint32{4}, FlagsAdd, []string{`\Answered`, `\Deleted`}, 4, []string{`\Answered`, `\Deleted`}},
	}
	for i, tc := range tests {
		if err := m.Store(tc.uids, tc.op, tc.flags); err != nil {
			t.Fatalf("%d: store: %v", i, err)
		}
		if got := flagsOf(t, m, tc.uid); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Fatalf("%d: UID %d flags %q, want %q", i, tc.uid, got, tc.want)
		}
	}
	if _, err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	if st.Unseen != 2 || st.Deleted != 1 || st.FirstUnseen != 3 || st.HighestModSeq != 4+6 {
		t.Fatalf("status %+v", st)
	}
	// Marking the first unseen message seen moves FirstUnseen.
	if err := m.Store([]uint32{3}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	m.Sync(true)
	if st := m.Status(); st.FirstUnseen != 4 || st.Unseen != 1 {
		t.Fatalf("after seen: %+v", st)
	}
	ro := mustOpen(t, dir, true, opts)
	if err := ro.Store([]uint32{1}, FlagsAdd, []string{`\Seen`}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only store: %v", err)
	}
	if _, err := ro.Expunge(nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only expunge: %v", err)
	}
}

func TestTooManyKeywords(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	mustAppend(t, dir, 1)
	m := mustOpen(t, dir, false, testOpts(1<<20))
	var kws []string
	for i := 0; i < 64; i++ {
		kws = append(kws, "kw"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if err := m.Store([]uint32{1}, FlagsAdd, kws); err != nil {
		t.Fatal(err)
	}
	if got := len(flagsOf(t, m, 1)); got != 64 {
		t.Fatalf("%d flags", got)
	}
	if err := m.Store([]uint32{1}, FlagsAdd, []string{"one-too-many"}); !errors.Is(err, ErrTooManyKeywords) {
		t.Fatalf("65th keyword: %v", err)
	}
}

func TestTwoViewsSync(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	opts := testOpts(1 << 20)
	for i := 1; i <= 5; i++ {
		mustAppend(t, dir, i)
	}
	a := mustOpen(t, dir, false, opts)
	b := mustOpen(t, dir, false, opts)

	// New messages: EXISTS.
	mustAppend(t, dir, 6)
	mustAppend(t, dir, 7)
	ch, err := a.Sync(false)
	if err != nil || ch.Messages != 7 || len(ch.Expunged) != 0 {
		t.Fatalf("sync after append: %+v %v", ch, err)
	}
	// Only the first read-write view gets them as \Recent.
	if r := a.Status().Recent; r != 5+2 {
		t.Fatalf("a recent %d", r)
	}
	b.Sync(true)
	if r := b.Status().Recent; r != 0 {
		t.Fatalf("b recent %d", r)
	}

	// Flag changes: FETCH FLAGS.
	if err := b.Store([]uint32{2, 3}, FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	ch, err = a.Sync(false)
	if err != nil || len(ch.Flags) != 2 || ch.Flags[0].Seq != 2 || ch.Flags[1].UID != 3 ||
		!slices.Contains(ch.Flags[0].Flags, `\Deleted`) {
		t.Fatalf("sync after store: %+v %v", ch, err)
	}
	if ch, _ = a.Sync(false); len(ch.Flags) != 0 {
		t.Fatalf("flags reported twice: %+v", ch)
	}

	// Expunge: held back by Sync(false), reported by Sync(true).
	gone, err := b.Expunge(nil)
	if err != nil || !slices.Equal(gone, []uint32{2, 3}) {
		t.Fatalf("expunge: %v %v", gone, err)
	}
	mustAppend(t, dir, 8)
	ch, err = a.Sync(false)
	if err != nil || len(ch.Expunged) != 0 || ch.Messages != 0 || a.Count() != 7 {
		t.Fatalf("sync(false) during pending expunge: %+v %v", ch, err)
	}
	if u := uids(t, a); !slices.Equal(u, []uint32{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("view changed before expunge allowed: %v", u)
	}
	ch, err = a.Sync(true)
	if err != nil || !slices.Equal(ch.Expunged, []uint32{3, 2}) || ch.Messages != 6 {
		t.Fatalf("sync(true): %+v %v", ch, err)
	}
	if u := uids(t, a); !slices.Equal(u, []uint32{1, 4, 5, 6, 7, 8}) {
		t.Fatalf("after expunge: %v", u)
	}
	if st := a.Status(); st.Messages != 6 || st.Deleted != 0 || st.UIDNext != 9 || st.Recent != 6 {
		t.Fatalf("status %+v", st)
	}
	// Expunge(uids) removes exactly those, \Deleted or not.
	if gone, err := a.Expunge([]uint32{5, 6, 42}); err != nil || !slices.Equal(gone, []uint32{5, 6}) {
		t.Fatalf("expunge uids: %v %v", gone, err)
	}
	ch, _ = b.Sync(true)
	if !slices.Equal(ch.Expunged, []uint32{6, 5, 3, 2}) || ch.Messages != 4 {
		t.Fatalf("b expunged %v", ch.Expunged)
	}
	exp, err := ReadExpunged(dir)
	if err != nil || len(exp) != 4 {
		t.Fatalf("store.exp: %v %v", exp, err)
	}
}

func TestFlagScanAfterRingWrap(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	opts := testOpts(1 << 20)
	if _, err := BulkAppend(dir, 300, func(i int) BulkMessage { return BulkMessage{Size: 10, Date: testDate} }, opts); err != nil {
		t.Fatal(err)
	}
	a := mustOpen(t, dir, false, opts)
	b := mustOpen(t, dir, false, opts)
	all := make([]uint32, 200)
	for i := range all {
		all[i] = uint32(i + 50)
	}
	if err := b.Store(all, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	ch, err := a.Sync(true)
	if err != nil || len(ch.Flags) != 200 || ch.Flags[0].UID != 50 {
		t.Fatalf("flags after big store: %d %v", len(ch.Flags), err)
	}
}

func TestCopyTo(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	dst := dir + "-dst"
	if err := Create(dst, 777); err != nil {
		t.Fatal(err)
	}
	opts := testOpts(1 << 20)
	mustAppend(t, dir, 1, `\Seen`, "Blue")
	mustAppend(t, dir, 2, `\Flagged`)
	mustAppend(t, dir, 3)
	m := mustOpen(t, dir, false, opts)
	res, err := m.CopyTo(dst, []uint32{3, 1, 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.UIDValidity != 777 || !slices.Equal(res.SrcUIDs, []uint32{3, 1}) || !slices.Equal(res.DstUIDs, []uint32{1, 2}) {
		t.Fatalf("copy result %+v", res)
	}
	d := mustOpen(t, dst, false, opts)
	if got := flagsOf(t, d, 2); !slices.Equal(got, []string{"Blue", `\Seen`}) {
		t.Fatalf("copied flags %q", got)
	}
	msg, _ := d.Message(2)
	if blob, err := d.Cache(msg); err != nil || string(blob) != "Subject: message 1" {
		t.Fatalf("copied cache %q %v", blob, err)
	}
	if st := d.Status(); st.Messages != 2 || st.Unseen != 1 || st.Recent != 2 {
		t.Fatalf("dst status %+v", st)
	}
	// Into the same folder.
	res, err = m.CopyTo(dir, []uint32{2})
	if err != nil || !slices.Equal(res.DstUIDs, []uint32{4}) {
		t.Fatalf("self copy %+v %v", res, err)
	}
	ch, _ := m.Sync(true)
	if ch.Messages != 4 || !slices.Equal(flagsOf(t, m, 4), []string{`\Flagged`}) {
		t.Fatalf("self copy sync %+v", ch)
	}
}

func TestSyncDeletedFolder(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	m := mustOpen(t, dir, false, testOpts(1<<20))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sync(true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("sync of deleted folder: %v", err)
	}
}
