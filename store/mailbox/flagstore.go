package mailbox

import (
	"fmt"
	"os"

	"msgplex/store/index"
)

// Store changes the flags of the given UIDs durably and bumps their
// modseq (one new modseq for all records changed). UIDs not in the
// folder are skipped; \Recent is ignored.
func (m *Mailbox) Store(uids []uint32, op StoreOp, flags []string) error {
	if m.readOnly {
		return ErrReadOnly
	}
	pf, err := parseFlags(flags)
	if err != nil {
		return err
	}
	t, err := begin(m.dir)
	if err != nil {
		return err
	}
	defer t.end()
	kw, err := keywordBits(&t.h, pf.kws, op != FlagsRemove)
	if err != nil {
		return err
	}
	type change struct {
		i   uint32
		old index.Record
		new index.Record
	}
	var changes []change
	for _, uid := range uids {
		i, ok, err := t.find(uid)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		rec, err := t.record(i)
		if err != nil {
			return err
		}
		n := rec
		applyOp(&n, op, pf.sys, kw)
		if n.Flags != rec.Flags || n.Keywords != rec.Keywords {
			changes = append(changes, change{i: i, old: rec, new: n})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	// Dirty header, records, clean header: see the package doc.
	t.h.Flags |= index.HeaderDirty
	if err := t.writeHeader(true); err != nil {
		return err
	}
	modseq := t.h.HighestModSeq + 1
	firstUnseenLost := false
	for _, c := range changes {
		c.new.ModSeq = modseq
		if err := t.writeRecord(c.i, &c.new); err != nil {
			return err
		}
		t.h.AddRing(c.new.UID, modseq)
		firstUnseenLost = t.countChange(c.old, c.new) || firstUnseenLost
	}
	if err := datasync(t.f); err != nil {
		return err
	}
	t.h.HighestModSeq = modseq
	if firstUnseenLost {
		if err := t.findFirstUnseen(); err != nil {
			return err
		}
	}
	t.h.Flags &^= index.HeaderDirty
	if err := t.writeHeader(true); err != nil {
		return err
	}
	if m.stale(t.f) {
		for _, c := range changes {
			m.noteOwn(c.new, t.h.Keywords)
		}
	}
	return nil
}

// stale reports whether cur (the folder's current store.idx) is not the
// file the view reads: another view expunged and this one has not
// switched yet (Sync(true)).
func (m *Mailbox) stale(cur *os.File) bool {
	a, err1 := cur.Stat()
	b, err2 := m.rd.f.OS().Stat()
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}

// noteOwn remembers a record this view changed in a newer store.idx than
// the one it reads, so that its answers (STORE, FETCH FLAGS) show the
// change before Sync(true) moves it to that file. keywords is the newer
// file's table, a superset of the view's (tables only grow).
func (m *Mailbox) noteOwn(r index.Record, keywords []string) {
	if m.own == nil {
		m.own = map[uint32]index.Record{}
	}
	m.own[r.UID] = r
	if len(keywords) > len(m.keywords) {
		m.keywords = keywords
	}
}

func applyOp(r *index.Record, op StoreOp, sys uint32, kw uint64) {
	switch op {
	case FlagsSet:
		r.Flags, r.Keywords = sys, kw
	case FlagsAdd:
		r.Flags, r.Keywords = r.Flags|sys, r.Keywords|kw
	case FlagsRemove:
		r.Flags, r.Keywords = r.Flags&^sys, r.Keywords&^kw
	}
}

// countChange updates the header's counters for a record rewritten from
// old to new; it reports whether the first unseen message became seen.
func (t *txn) countChange(old, new index.Record) bool {
	const seen, del = index.FlagSeen, index.FlagDeleted
	switch {
	case old.Flags&seen != 0 && new.Flags&seen == 0:
		t.h.Unseen++
		if t.h.FirstUnseenUID == 0 || new.UID < t.h.FirstUnseenUID {
			t.h.FirstUnseenUID = new.UID
		}
	case old.Flags&seen == 0 && new.Flags&seen != 0:
		t.h.Unseen--
	}
	switch {
	case old.Flags&del != 0 && new.Flags&del == 0:
		t.h.Deleted--
	case old.Flags&del == 0 && new.Flags&del != 0:
		t.h.Deleted++
	}
	return new.Flags&seen != 0 && new.UID == t.h.FirstUnseenUID
}

// findFirstUnseen scans forward from the old first unseen message.
func (t *txn) findFirstUnseen() error {
	from, _, err := t.find(t.h.FirstUnseenUID)
	if err != nil {
		return err
	}
	t.h.FirstUnseenUID = 0
	if t.h.Unseen == 0 {
		return nil
	}
	errFound := fmt.Errorf("found")
	err = scanRecords(t.f, from, t.h.Count, func(_ uint32, r index.Record) error {
		if r.Flags&index.FlagSeen == 0 {
			t.h.FirstUnseenUID = r.UID
			return errFound
		}
		return nil
	})
	if err != nil && err != errFound {
		return err
	}
	if t.h.FirstUnseenUID == 0 {
		// An unseen message before the hint (the hint was stale): recount.
		var c counters
		err := scanRecords(t.f, 0, t.h.Count, func(_ uint32, r index.Record) error {
			c.add(r)
			return nil
		})
		if err != nil {
			return err
		}
		c.apply(&t.h)
	}
	return nil
}
