package index

import (
	"container/list"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// WindowSize is the size of one mapping of the record area.
const WindowSize = 1 << 20

// Budget accounts the bytes of index mappings one process holds and
// evicts idle windows, least recently used first, to stay under Limit.
// It is safe for concurrent use.
type Budget struct {
	limit int64

	mu        sync.Mutex
	mapped    int64
	windows   int
	evictions uint64
	fallbacks uint64
	files     map[fileKey]*fileEntry
	lru       list.List // of *window, most recently used first
}

type fileKey struct{ dev, ino uint64 }

type fileEntry struct {
	key     fileKey
	refs    int
	windows map[int64]*window
}

type window struct {
	fe    *fileEntry
	n     int64 // window number
	start int64 // file offset of data[0]
	data  []byte
	pins  atomic.Int32
	elem  *list.Element
}

// NewBudget makes a budget of limit bytes.
func NewBudget(limit int64) *Budget {
	if limit < 0 {
		limit = 0
	}
	return &Budget{limit: limit, files: make(map[fileKey]*fileEntry)}
}

// Stats are the figures exposed to counterutil and /metrics.
type Stats struct {
	Limit, Mapped int64
	Windows       int
	Evictions     uint64
	// Fallbacks counts reads served by pread because no window fit.
	Fallbacks uint64
}

// Stats reports the current figures.
func (b *Budget) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Limit: b.limit, Mapped: b.mapped, Windows: b.windows,
		Evictions: b.evictions, Fallbacks: b.fallbacks}
}

// register counts a handle of the file with this key.
func (b *Budget) register(key fileKey) *fileEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	fe := b.files[key]
	if fe == nil {
		fe = &fileEntry{key: key, windows: make(map[int64]*window)}
		b.files[key] = fe
	}
	fe.refs++
	return fe
}

// release drops a handle. The windows of a file nobody has open stay
// mapped (the next Open of a folder finds them) until evicted, unless the
// file is gone (replaced by an expunge), when they are unmapped now. A
// mapping keeps its inode alive, so while an entry has windows its
// (dev, inode) key cannot name another file.
func (b *Budget) release(fe *fileEntry, unlinked bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fe.refs--
	if fe.refs > 0 {
		return
	}
	if unlinked {
		for _, w := range fe.windows {
			b.unmapLocked(w)
		}
	}
	if len(fe.windows) == 0 {
		delete(b.files, fe.key)
	}
}

func (b *Budget) unmapLocked(w *window) {
	b.lru.Remove(w.elem)
	fe := w.fe
	delete(fe.windows, w.n)
	b.mapped -= int64(len(w.data))
	b.windows--
	_ = unix.Munmap(w.data)
	w.data = nil
	if fe.refs == 0 && len(fe.windows) == 0 && b.files[fe.key] == fe {
		delete(b.files, fe.key)
	}
}

// pin returns a pinned window of f holding [off, end), or nil when the
// read must use pread. The caller unpins with w.pins.Add(-1).
func (b *Budget) pin(f *File, off, end int64) *window {
	n := (off - HeaderSize) / WindowSize
	start := HeaderSize + n*WindowSize
	if off < HeaderSize || end > start+WindowSize {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	w := f.fe.windows[n]
	if w != nil && start+int64(len(w.data)) >= end {
		w.pins.Add(1)
		b.lru.MoveToFront(w.elem)
		return w
	}
	if w != nil {
		if w.pins.Load() != 0 {
			b.fallbacks++
			return nil
		}
		b.unmapLocked(w) // the file grew: map it again, longer
	}
	return b.mapLocked(f, n, start, end)
}

func (b *Budget) mapLocked(f *File, n, start, end int64) *window {
	fi, err := f.f.Stat()
	if err != nil {
		return nil
	}
	length := min(int64(WindowSize), fi.Size()-start)
	if length < end-start {
		return nil // past the end: pread reports it
	}
	if !b.makeRoomLocked(length) {
		b.fallbacks++
		return nil
	}
	data, err := unix.Mmap(int(f.f.Fd()), start, int(length), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		b.fallbacks++
		return nil
	}
	w := &window{fe: f.fe, n: n, start: start, data: data}
	w.pins.Add(1)
	w.elem = b.lru.PushFront(w)
	f.fe.windows[n] = w
	b.mapped += length
	b.windows++
	return w
}

// makeRoomLocked unmaps idle windows, least recently used first, until
// length more bytes fit under the limit.
func (b *Budget) makeRoomLocked(length int64) bool {
	if length > b.limit {
		return false
	}
	for e := b.lru.Back(); e != nil && b.mapped+length > b.limit; {
		w := e.Value.(*window)
		e = e.Prev()
		if w.pins.Load() == 0 {
			b.unmapLocked(w)
			b.evictions++
		}
	}
	return b.mapped+length <= b.limit
}

// File is a store.idx handle whose record reads go through the budget's
// windows. It is safe for concurrent reads.
type File struct {
	b  *Budget
	f  *os.File
	fe *fileEntry
}

// Open registers f with the budget; the File owns f from now on.
func (b *Budget) Open(f *os.File) (*File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	fe := b.register(fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)})
	return &File{b: b, f: f, fe: fe}, nil
}

// OS is the underlying file (for pwrite, fsync, stat).
func (f *File) OS() *os.File { return f.f }

// Close unregisters and closes the file (see release for its windows).
func (f *File) Close() error {
	if f.fe == nil {
		return nil
	}
	var st unix.Stat_t
	unlinked := unix.Fstat(int(f.f.Fd()), &st) != nil || st.Nlink == 0
	f.b.release(f.fe, unlinked)
	f.fe = nil
	return f.f.Close()
}

// ReadAt reads len(p) bytes of the record area at off through a window,
// or with pread when no window can be had.
func (f *File) ReadAt(p []byte, off int64) error {
	end := off + int64(len(p))
	if w := f.b.pin(f, off, end); w != nil {
		ok := copyMapped(p, w.data[off-w.start:end-w.start])
		w.pins.Add(-1)
		if ok {
			return nil
		}
	}
	if _, err := f.f.ReadAt(p, off); err != nil {
		return corruptf("read %d bytes at %d of %s: %v", len(p), off, f.f.Name(), err)
	}
	return nil
}

// copyMapped copies from a mapping. A file truncated behind our back (by
// hand) makes the access fault: that becomes false (the caller then reads
// with pread and reports the short file) instead of killing the process.
func copyMapped(dst, src []byte) (ok bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if recover() != nil {
			ok = false
		}
	}()
	copy(dst, src)
	return true
}

// Record reads and checks record i (0-based).
func (f *File) Record(i uint32) (Record, error) {
	var buf [RecordSize]byte
	if err := f.ReadAt(buf[:], RecordOffset(i)); err != nil {
		return Record{}, err
	}
	r, err := DecodeRecord(buf[:])
	if err != nil {
		return Record{}, fmt.Errorf("record %d of %s: %w", i, f.f.Name(), err)
	}
	return r, nil
}

// Header reads both header slots with pread and returns the newest valid.
func (f *File) Header() (Header, error) { return ReadHeader(f.f) }

// ReadHeader reads the header of an open store.idx.
func ReadHeader(f *os.File) (Header, error) {
	buf := make([]byte, HeaderSize)
	n, err := f.ReadAt(buf, 0)
	if n < HeaderSize {
		return Header{}, corruptf("read header of %s: %d bytes: %v", f.Name(), n, err)
	}
	h, _, err := PickHeader(buf)
	if err != nil {
		return Header{}, fmt.Errorf("header of %s: %w", f.Name(), err)
	}
	return h, nil
}

// ReadHeaderSlot is ReadHeader that also says which slot (0 or 1) holds
// the header returned, for the next WriteHeader.
func ReadHeaderSlot(f *os.File) (Header, int, error) {
	buf := make([]byte, HeaderSize)
	n, err := f.ReadAt(buf, 0)
	if n < HeaderSize {
		return Header{}, 0, corruptf("read header of %s: %d bytes: %v", f.Name(), n, err)
	}
	h, slot, err := PickHeader(buf)
	if err != nil {
		return Header{}, 0, fmt.Errorf("header of %s: %w", f.Name(), err)
	}
	return h, slot, nil
}

// WriteHeader bumps h.Generation and writes h with pwrite into the slot
// other than *slot (the one holding the current header), then sets *slot
// to it. The caller fsyncs.
func WriteHeader(f *os.File, h *Header, slot *int) error {
	h.Generation++
	buf := make([]byte, SlotSize)
	h.EncodeSlot(buf)
	next := 1 - *slot
	if _, err := f.WriteAt(buf, int64(next)*SlotSize); err != nil {
		return fmt.Errorf("write header of %s: %w", f.Name(), err)
	}
	*slot = next
	return nil
}
