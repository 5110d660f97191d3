package mailbox

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"msgplex/store/index"
)

func TestAppendOpenStatus(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	opts := testOpts(1 << 20)
	for i := 1; i <= 5; i++ {
		var flags []string
		if i%2 == 0 {
			flags = []string{`\SEEN`, "$Junk"}
		}
		if uid := mustAppend(t, dir, i, flags...); uid != uint32(i) {
			t.Fatalf("append %d got UID %d", i, uid)
		}
	}
	st, err := ReadStatus(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Messages: 5, Recent: 5, Unseen: 3, UIDNext: 6, UIDValidity: 12345,
		Size: st.Size, HighestModSeq: 5, FirstUnseen: 1}
	if st != want {
		t.Fatalf("ReadStatus = %+v, want %+v", st, want)
	}
	m := mustOpen(t, dir, false, opts)
	if got := m.Status(); got.Recent != 5 || got.Messages != 5 || got.FirstUnseen != 1 {
		t.Fatalf("Status = %+v", got)
	}
	// A second read-write view sees nothing \Recent any more.
	m2 := mustOpen(t, dir, false, opts)
	if r := m2.Status().Recent; r != 0 {
		t.Fatalf("second view Recent = %d", r)
	}
	msg, err := m.Message(2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msg.Flags, []string{`\Seen`, "$Junk"}) || !msg.Recent || msg.UID != 2 {
		t.Fatalf("message 2 = %+v", msg)
	}
	if !msg.InternalDate.Equal(testDate) {
		t.Fatalf("date %v want %v", msg.InternalDate, testDate)
	}
	if _, off := msg.InternalDate.Zone(); off != 7200 {
		t.Fatalf("zone offset %d", off)
	}
	blob, err := m.Cache(msg)
	if err != nil || string(blob) != "Subject: message 2" {
		t.Fatalf("cache = %q, %v", blob, err)
	}
	f, err := m.OpenMessage(2)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(f)
	f.Close()
	if string(body) != msgText(2) || msg.Size != int64(len(body)) {
		t.Fatalf("body %q size %d", body, msg.Size)
	}
	if _, err := m.Message(6); !errors.Is(err, ErrNoSuchMessage) {
		t.Fatalf("Message(6) err %v", err)
	}
	if _, err := m.OpenMessage(99); !errors.Is(err, ErrNoSuchMessage) {
		t.Fatalf("OpenMessage(99) err %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	if err := Create(dir, 1); !errors.Is(err, ErrExists) {
		t.Fatalf("Create twice: %v", err)
	}
	if _, err := Open(dir+"-missing", true, testOpts(0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open missing: %v", err)
	}
	if _, err := ReadStatus(dir+"-missing", testOpts(0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadStatus missing: %v", err)
	}
	if _, err := AppendTo(dir, strings.NewReader("x"), []string{`\Bogus`}, testDate, testOpts(0)); !errors.Is(err, ErrBadFlag) {
		t.Fatalf("bad flag: %v", err)
	}
}

func TestCorruptHeader(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	mustAppend(t, dir, 1)
	f, err := os.OpenFile(dir+"/store.idx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 2*8192)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	f.WriteAt(junk, 0)
	f.Close()
	if _, err := Open(dir, true, testOpts(1<<20)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open corrupt: %v", err)
	}
	if _, err := ReadStatus(dir, testOpts(1<<20)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadStatus corrupt: %v", err)
	}
}

// A Store interrupted after its Dirty header (counters not matching the
// records) is repaired by the next writer; a torn newest header slot
// falls back to the older one.
func TestDirtyAndTornHeader(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	for i := 1; i <= 3; i++ {
		mustAppend(t, dir, i)
	}
	tx, err := begin(dir)
	if err != nil {
		t.Fatal(err)
	}
	tx.h.Flags |= index.HeaderDirty
	tx.h.Unseen, tx.h.Deleted = 0, 3 // wrong, as after a crash
	if err := tx.writeHeader(true); err != nil {
		t.Fatal(err)
	}
	slot := tx.slot
	tx.end()
	mustAppend(t, dir, 4)
	st, err := ReadStatus(dir, testOpts(1<<20))
	if err != nil || st.Unseen != 4 || st.Deleted != 0 || st.Messages != 4 {
		t.Fatalf("after recount: %+v %v", st, err)
	}
	// Tear the newest slot (the append's, written where the Dirty one
	// was): the older one, the recount's with 3 messages, is used.
	f, _ := os.OpenFile(filepath.Join(dir, idxName), os.O_RDWR, 0)
	f.WriteAt([]byte("torn"), int64(slot)*index.SlotSize+100)
	f.Close()
	m := mustOpen(t, dir, true, testOpts(1<<20))
	if st := m.Status(); st.Messages != 3 || st.Unseen != 3 || st.Deleted != 0 {
		t.Fatalf("older slot: %+v", st)
	}
}
