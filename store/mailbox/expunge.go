package mailbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"msgplex/store/index"
)

// Expunge removes the given UIDs (nil: every message with \Deleted) from
// the index durably and records them in store.exp; message and cache files
// stay until cleanup. Returns the UIDs removed, ascending. Expunge(uids)
// removes exactly those present, \Deleted or not (MOVE, UID EXPUNGE: the
// caller filters). The view reports them at its next Sync(true).
func (m *Mailbox) Expunge(uids []uint32) ([]uint32, error) {
	if m.readOnly {
		return nil, ErrReadOnly
	}
	return expunge(m.dir, uids)
}

// ExpungeUIDs is Expunge(uids) without a view, for tools that must not
// open a read-write view (that would claim \Recent). uids must not be nil.
func ExpungeUIDs(dir string, uids []uint32) ([]uint32, error) {
	if uids == nil {
		uids = []uint32{}
	}
	return expunge(dir, uids)
}

func expunge(dir string, uids []uint32) ([]uint32, error) {
	t, err := begin(dir)
	if err != nil {
		return nil, err
	}
	defer t.end()
	var want map[uint32]bool
	if uids != nil {
		want = make(map[uint32]bool, len(uids))
		for _, u := range uids {
			want[u] = true
		}
		if len(want) == 0 {
			return nil, nil
		}
	}
	gone := func(r index.Record) bool {
		if want != nil {
			return want[r.UID]
		}
		return r.Flags&index.FlagDeleted != 0
	}
	// One pass: copy the records that stay into the new file, note the
	// others; store.exp gets them before the new file replaces the old.
	var removed []uint32
	h := t.h
	var c counters
	err = writeNewIndex(dir, &h, func(f *os.File) error {
		err := copyRecords(t.f, t.h.Count, f, func(r index.Record) bool {
			if gone(r) {
				removed = append(removed, r.UID)
				return false
			}
			c.add(r)
			return true
		})
		if err == nil && len(removed) == 0 {
			return errNothing
		}
		if err == nil {
			err = appendExp(dir, removed, time.Now())
		}
		c.apply(&h) // before writeNewIndex encodes h
		h.Flags = 0
		return err
	})
	if err == errNothing {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return removed, syncDir(dir)
}

// errNothing stops an Expunge that found nothing to remove.
var errNothing = errors.New("nothing to expunge")

// copyRecords copies the records of src for which keep is true into dst
// from record 0 on.
func copyRecords(src *os.File, count uint32, dst *os.File, keep func(index.Record) bool) error {
	w := bufio.NewWriterSize(io.NewOffsetWriter(dst, index.HeaderSize), 1<<20)
	var buf [index.RecordSize]byte
	err := scanRecords(src, 0, count, func(_ uint32, r index.Record) error {
		if !keep(r) {
			return nil
		}
		r.Encode(buf[:])
		_, err := w.Write(buf[:])
		return err
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}
