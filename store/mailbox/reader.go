package mailbox

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"msgplex/store/index"
)

// reader reads the first count records of one store.idx through the
// budget's windows.
type reader struct {
	dir   string
	f     *index.File
	count uint32
}

// record reads record i. A record being rewritten by a writer (Store) can
// be seen torn: retry, and at last read under a shared lock.
func (r *reader) record(i uint32) (index.Record, error) {
	var err error
	for try := 0; try < 3; try++ {
		var rec index.Record
		if rec, err = r.f.Record(i); err == nil || !errors.Is(err, ErrCorrupt) {
			return rec, err
		}
		time.Sleep(time.Millisecond)
	}
	l, lerr := lockFolder(r.dir, unix.LOCK_SH)
	if lerr != nil {
		return index.Record{}, err
	}
	defer l.unlock()
	return r.f.Record(i)
}

// lowerBound is the index of the first record with UID >= uid.
func (r *reader) lowerBound(uid uint32) (uint32, error) {
	lo, hi := uint32(0), r.count
	for lo < hi {
		mid := lo + (hi-lo)/2
		rec, err := r.record(mid)
		if err != nil {
			return 0, err
		}
		if rec.UID < uid {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// seqOf finds uid's sequence number.
func (r *reader) seqOf(uid uint32) (uint32, bool, error) {
	i, err := r.lowerBound(uid)
	if err != nil || i >= r.count {
		return 0, false, err
	}
	rec, err := r.record(i)
	if err != nil || rec.UID != uid {
		return 0, false, err
	}
	return i + 1, true, nil
}

func (r *reader) seqOfOrZero(uid uint32) (uint32, error) {
	if uid == 0 {
		return 0, nil
	}
	seq, _, err := r.seqOf(uid)
	return seq, err
}

// countAbove counts records with a UID above uid.
func (r *reader) countAbove(uid uint32) (uint32, error) {
	if uid == ^uint32(0) {
		return 0, nil
	}
	i, err := r.lowerBound(uid + 1)
	return r.count - i, err
}

// countIn counts records with lo <= UID <= hi.
func (r *reader) countIn(lo, hi uint32) (uint32, error) {
	a, err := r.lowerBound(lo)
	if err != nil {
		return 0, err
	}
	b := r.count
	if hi != ^uint32(0) {
		if b, err = r.lowerBound(hi + 1); err != nil {
			return 0, err
		}
	}
	return b - a, nil
}

// uidRange is a closed range of UIDs.
type uidRange struct{ lo, hi uint32 }
