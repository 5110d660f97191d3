package index

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// writeIndex makes a store.idx of n records with UIDs 1..n.
func writeIndex(t testing.TB, n uint32) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.idx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := Header{UIDValidity: 1, UIDNext: n + 1, Count: n, Unseen: n, Generation: 1}
	hb := make([]byte, HeaderSize)
	h.EncodeSlot(hb)
	w := bufio.NewWriterSize(f, 1<<20)
	w.Write(hb)
	var rb [RecordSize]byte
	for uid := uint32(1); uid <= n; uid++ {
		r := Record{UID: uid, Size: uint64(uid) * 3, ModSeq: uint64(uid), Date: time.Unix(int64(uid), 0).UTC()}
		r.Encode(rb[:])
		w.Write(rb[:])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return f
}

func checkRecord(t testing.TB, f *File, i uint32) {
	r, err := f.Record(i)
	if err != nil {
		t.Fatalf("record %d: %v", i, err)
	}
	if r.UID != i+1 || r.Size != uint64(i+1)*3 {
		t.Fatalf("record %d has UID %d size %d", i, r.UID, r.Size)
	}
}

// A budget of 1 MiB over indexes of 150k records (9.6 MB): every read is
// right, and the mapped bytes never pass the limit.
func TestBudgetPressure(t *testing.T) {
	t.Parallel()
	const n = 150_000
	b := NewBudget(1 << 20)
	var files []*File
	for k := 0; k < 2; k++ {
		osf := writeIndex(t, n)
		f, err := b.Open(osf)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < 20_000; i++ {
				f := files[rng.IntN(len(files))]
				checkRecord(t, f, uint32(rng.IntN(n)))
				if st := b.Stats(); st.Mapped > st.Limit {
					t.Errorf("mapped %d > limit %d", st.Mapped, st.Limit)
					return
				}
			}
		}(uint64(g))
	}
	wg.Wait()
	st := b.Stats()
	if st.Evictions == 0 || st.Mapped > st.Limit {
		t.Fatalf("stats %+v: expected evictions within the limit", st)
	}
	for _, f := range files {
		os.Remove(f.OS().Name())
		f.Close()
	}
	if st := b.Stats(); st.Mapped != 0 || st.Windows != 0 {
		t.Fatalf("after close: %+v", st)
	}
}

// With every window pinned, reads fall back to pread instead of failing.
func TestBudgetAllPinned(t *testing.T) {
	t.Parallel()
	osf := writeIndex(t, 40_000) // 2.5 MB: three windows
	b := NewBudget(1 << 20)
	f, err := b.Open(osf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := b.pin(f, HeaderSize, HeaderSize+RecordSize)
	if w == nil {
		t.Fatal("first window not mapped")
	}
	checkRecord(t, f, 30_000) // another window: no room, pread
	w.pins.Add(-1)
	st := b.Stats()
	if st.Fallbacks != 1 || st.Windows != 1 {
		t.Fatalf("stats %+v", st)
	}
	checkRecord(t, f, 30_000) // now the idle window can go
	if st := b.Stats(); st.Evictions != 1 || st.Mapped > st.Limit {
		t.Fatalf("stats %+v", st)
	}
	// A zero budget reads everything with pread.
	z := NewBudget(0)
	g, err := z.Open(writeIndex(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checkRecord(t, g, 9)
	if _, err := g.Record(10); err == nil {
		t.Fatal("record past the end read")
	}
}

// Views of the same file share windows; a grown file is mapped again.
func TestBudgetShareAndGrow(t *testing.T) {
	t.Parallel()
	osf := writeIndex(t, 100)
	b := NewBudget(64 << 20)
	f1, _ := b.Open(osf)
	osf2, _ := os.Open(osf.Name())
	f2, _ := b.Open(osf2)
	checkRecord(t, f1, 50)
	checkRecord(t, f2, 60)
	if st := b.Stats(); st.Windows != 1 {
		t.Fatalf("not shared: %+v", st)
	}
	// Grow the file by one record; the short window is remapped.
	var rb [RecordSize]byte
	r := Record{UID: 101, Size: 303, Date: time.Unix(0, 0).UTC()}
	r.Encode(rb[:])
	osf.WriteAt(rb[:], RecordOffset(100))
	checkRecord(t, f2, 100)
	f1.Close()
	checkRecord(t, f2, 1)
	f2.Close()
	// Closed but present: the windows stay for the next open.
	if st := b.Stats(); st.Windows != 1 {
		t.Fatalf("after close %+v", st)
	}
	osf3, _ := os.Open(osf.Name())
	f3, _ := b.Open(osf3)
	checkRecord(t, f3, 100)
	if st := b.Stats(); st.Windows != 1 {
		t.Fatalf("reopen did not reuse the window: %+v", st)
	}
	os.Remove(osf.Name())
	f3.Close()
	if st := b.Stats(); st.Windows != 0 || st.Mapped != 0 {
		t.Fatalf("after close of a removed file %+v", st)
	}
}

func BenchmarkRecordRead(b *testing.B) {
	osf := writeIndex(b, 100_000)
	bud := NewBudget(64 << 20)
	f, _ := bud.Open(osf)
	defer f.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Record(uint32(i % 100_000)); err != nil {
			b.Fatal(err)
		}
	}
}

// A file truncated under a mapping is an error, not a crash.
func TestBudgetTruncated(t *testing.T) {
	t.Parallel()
	osf := writeIndex(t, 1000)
	b := NewBudget(8 << 20)
	f, err := b.Open(osf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkRecord(t, f, 999)
	if err := osf.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Record(999); err == nil {
		t.Fatal("read of a truncated file succeeded")
	}
}
