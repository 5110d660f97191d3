package mailbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"msgplex/store/index"
)

// txn is one writer's change to a folder: the lock, the current store.idx
// opened for writing, and its header.
type txn struct {
	dir  string
	lock *folderLock
	f    *os.File
	h    index.Header
	slot int
}

// begin locks the folder and reads the current header. A header left
// Dirty by a crash is repaired (counters recounted) first.
func begin(dir string) (*txn, error) {
	lock, err := lockFolder(dir, unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	t := &txn{dir: dir, lock: lock}
	t.f, err = os.OpenFile(filepath.Join(dir, idxName), os.O_RDWR, 0)
	if err != nil {
		lock.unlock()
		return nil, fmt.Errorf("open index: %w", notFoundOrCorrupt(err))
	}
	t.h, t.slot, err = index.ReadHeaderSlot(t.f)
	if err == nil && t.h.Flags&index.HeaderDirty != 0 {
		err = t.recount()
	}
	if err != nil {
		t.end()
		return nil, err
	}
	return t, nil
}

func (t *txn) end() {
	if t.f != nil {
		_ = t.f.Close()
	}
	t.lock.unlock()
}

// record reads record i with pread.
func (t *txn) record(i uint32) (index.Record, error) {
	var buf [index.RecordSize]byte
	if _, err := t.f.ReadAt(buf[:], index.RecordOffset(i)); err != nil {
		return index.Record{}, fmt.Errorf("read record %d: %w: %v", i, ErrCorrupt, err)
	}
	return index.DecodeRecord(buf[:])
}

func (t *txn) writeRecord(i uint32, r *index.Record) error {
	var buf [index.RecordSize]byte
	r.Encode(buf[:])
	if _, err := t.f.WriteAt(buf[:], index.RecordOffset(i)); err != nil {
		return fmt.Errorf("write record %d: %w", i, err)
	}
	return nil
}

// find binary-searches uid among the records.
func (t *txn) find(uid uint32) (uint32, bool, error) {
	lo, hi := uint32(0), t.h.Count
	for lo < hi {
		mid := lo + (hi-lo)/2
		r, err := t.record(mid)
		if err != nil {
			return 0, false, err
		}
		switch {
		case r.UID == uid:
			return mid, true, nil
		case r.UID < uid:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return lo, false, nil
}

// writeHeader writes the header into the other slot and fdatasyncs.
func (t *txn) writeHeader(sync bool) error {
	if err := index.WriteHeader(t.f, &t.h, &t.slot); err != nil {
		return err
	}
	if sync {
		return datasync(t.f)
	}
	return nil
}

// recount recomputes the header's counters from the records.
func (t *txn) recount() error {
	var c counters
	err := scanRecords(t.f, 0, t.h.Count, func(_ uint32, r index.Record) error {
		c.add(r)
		return nil
	})
	if err != nil {
		return err
	}
	c.apply(&t.h)
	t.h.Flags &^= index.HeaderDirty
	return t.writeHeader(true)
}

// counters are the header's figures, computed from records.
type counters struct {
	count, unseen, deleted, firstUnseen uint32
	size                                int64
	maxModSeq                           uint64
}

func (c *counters) add(r index.Record) {
	c.count++
	c.size += int64(r.Size)
	if r.Flags&index.FlagSeen == 0 {
		c.unseen++
		if c.firstUnseen == 0 {
			c.firstUnseen = r.UID
		}
	}
	if r.Flags&index.FlagDeleted != 0 {
		c.deleted++
	}
	c.maxModSeq = max(c.maxModSeq, r.ModSeq)
}

func (c *counters) apply(h *index.Header) {
	h.Count, h.Unseen, h.Deleted, h.Size = c.count, c.unseen, c.deleted, c.size
	h.FirstUnseenUID = c.firstUnseen
	h.HighestModSeq = max(h.HighestModSeq, c.maxModSeq)
}

// scanRecords calls fn for records [from, to) read with large preads.
func scanRecords(f *os.File, from, to uint32, fn func(i uint32, r index.Record) error) error {
	if from >= to {
		return nil
	}
	sr := io.NewSectionReader(f, index.RecordOffset(from), int64(to-from)*index.RecordSize)
	br := bufio.NewReaderSize(sr, 1<<20)
	var buf [index.RecordSize]byte
	for i := from; i < to; i++ {
		if _, err := io.ReadFull(br, buf[:]); err != nil {
			return fmt.Errorf("read record %d of %s: %w: %v", i, f.Name(), ErrCorrupt, err)
		}
		r, err := index.DecodeRecord(buf[:])
		if err != nil {
			return fmt.Errorf("record %d of %s: %w", i, f.Name(), err)
		}
		if err := fn(i, r); err != nil {
			return err
		}
	}
	return nil
}

func notFoundOrCorrupt(err error) error {
	if os.IsNotExist(err) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}
