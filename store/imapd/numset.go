package imapd

import (
	"sort"

	"github.com/emersion/go-imap/v2"

	"msgplex/store/mailbox"
)

// forEach calls f for every message of the view in numSet, in sequence
// order, each once, stopping at the first error. Numbers past the end are
// skipped (imapserver then answers OK, as the library does). It holds
// ranges, not one entry per message: "1:*" over ten million messages
// costs no memory. m.Flags may be a reused buffer: f must not keep it.
func (s *session) forEach(numSet imap.NumSet, f func(m mailbox.Message) error) error {
	ranges, err := s.resolve(numSet)
	if err != nil {
		return err
	}
	for _, r := range ranges {
		if err := s.forRange(r, f); err != nil {
			return err
		}
	}
	return nil
}

// batchFolder is a Folder that reads ranges of messages in batches
// (*mailbox.Mailbox does).
type batchFolder interface {
	Messages(from, to uint32, fn func(m mailbox.Message) bool) error
}

// forRange calls f for each message of r.
func (s *session) forRange(r seqRange, f func(m mailbox.Message) error) error {
	if bf, ok := s.sel.(batchFolder); ok {
		var ferr error
		err := bf.Messages(r.lo, r.hi, func(m mailbox.Message) bool {
			ferr = f(m)
			return ferr == nil
		})
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return s.fail("read index", s.selName, err)
		}
		return nil
	}
	for seq := r.lo; seq >= r.lo && seq <= r.hi; seq++ {
		m, err := s.sel.Message(seq)
		if err != nil {
			return s.fail("read index", s.selName, err)
		}
		if err := f(m); err != nil {
			return err
		}
	}
	return nil
}

// seqRange is a closed range of sequence numbers, lo >= 1.
type seqRange struct{ lo, hi uint32 }

// resolve turns a sequence or UID set into sorted, disjoint ranges of
// sequence numbers of the view.
func (s *session) resolve(numSet imap.NumSet) ([]seqRange, error) {
	count := s.sel.Count()
	var out []seqRange
	add := func(lo, hi uint32) {
		lo = max(lo, 1)
		if hi = min(hi, count); lo <= hi {
			out = append(out, seqRange{lo, hi})
		}
	}
	if numSet != nil && imap.IsSearchRes(numSet) {
		for _, uid := range s.searchRes {
			if seq, ok := s.sel.SeqOf(uid); ok {
				add(seq, seq)
			}
		}
		return mergeRanges(out), nil
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi := staticRange(r.Start, r.Stop, count)
			add(lo, hi)
		}
	case imap.UIDSet:
		if count == 0 {
			return nil, nil
		}
		last, err := s.uidAt(count)
		if err != nil {
			return nil, err
		}
		for _, r := range set {
			lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), last)
			a, err := s.lowerBound(lo, count)
			if err != nil {
				return nil, err
			}
			b := count + 1
			if hi != ^uint32(0) {
				if b, err = s.lowerBound(hi+1, count); err != nil {
					return nil, err
				}
			}
			if a < b {
				add(a, b-1)
			}
		}
	}
	return mergeRanges(out), nil
}

// mergeRanges sorts ranges and joins overlapping and adjacent ones.
func mergeRanges(rs []seqRange) []seqRange {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && uint64(r.lo) <= uint64(out[n-1].hi)+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// staticRange replaces "*" (0) by max and orders the range.
func staticRange(lo, hi, max uint32) (uint32, uint32) {
	if lo == 0 {
		lo = max
	}
	if hi == 0 {
		hi = max
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

func (s *session) uidAt(seq uint32) (uint32, error) {
	m, err := s.sel.Message(seq)
	if err != nil {
		return 0, s.fail("read index", s.selName, err)
	}
	return m.UID, nil
}

// lowerBound is the first sequence number whose UID is >= uid (count+1
// if none), by binary search.
func (s *session) lowerBound(uid, count uint32) (uint32, error) {
	var ferr error
	i := sort.Search(int(count), func(i int) bool {
		u, err := s.uidAt(uint32(i) + 1)
		if err != nil {
			ferr = err
			return true
		}
		return u >= uid
	})
	return uint32(i) + 1, ferr
}

// uidsOf lists the UIDs of numSet.
func (s *session) uidsOf(numSet imap.NumSet) ([]uint32, error) {
	var uids []uint32
	err := s.forEach(numSet, func(m mailbox.Message) error {
		uids = append(uids, m.UID)
		return nil
	})
	return uids, err
}
