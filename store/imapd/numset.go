package imapd

import (
	"sort"

	"github.com/emersion/go-imap/v2"

	"msgplex/store/mailbox"
)

// forEach calls f for every message of the view in numSet, in sequence
// order, stopping at the first error. Numbers past the end are skipped
// (imapserver then answers OK, as the library does).
func (s *session) forEach(numSet imap.NumSet, f func(m mailbox.Message) error) error {
	seqs, err := s.resolve(numSet)
	if err != nil {
		return err
	}
	for _, seq := range seqs {
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

// resolve turns a sequence or UID set into sorted sequence numbers.
func (s *session) resolve(numSet imap.NumSet) ([]uint32, error) {
	count := s.sel.Count()
	if imap.IsSearchRes(numSet) {
		var out []uint32
		for _, uid := range s.searchRes {
			if seq, ok := s.sel.SeqOf(uid); ok {
				out = append(out, seq)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out, nil
	}
	seen := map[uint32]bool{}
	var out []uint32
	add := func(lo, hi uint32) {
		for seq := lo; seq <= hi && seq != 0; seq++ {
			if !seen[seq] {
				seen[seq] = true
				out = append(out, seq)
			}
		}
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi := staticRange(r.Start, r.Stop, count)
			add(lo, min(hi, count))
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
			b, err := s.lowerBound(hi+1, count)
			if err != nil {
				return nil, err
			}
			if hi == ^uint32(0) {
				b = count + 1
			}
			if a < b {
				add(a, b-1)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
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
