package mailbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"msgplex/store/index"
)

// Sync brings the view up to date. With allowExpunge false it reports no
// expunges, and nothing at all while an expunge is pending for this view
// (its sequence numbers would depend on it).
func (m *Mailbox) Sync(allowExpunge bool) (Changes, error) {
	var ch Changes
	replaced, err := m.replaced()
	if err != nil {
		return ch, err
	}
	var h index.Header
	if replaced {
		if !allowExpunge {
			return ch, nil
		}
		if h, ch.Expunged, err = m.switchFile(); err != nil {
			return ch, err
		}
	} else if h, err = readHeaderRetry(m.dir, m.rd.f.OS()); err != nil {
		return ch, err
	}
	known := m.rd.count - uint32(len(ch.Expunged))
	if h.Count < known {
		return ch, fmt.Errorf("%s: %w: message count went down without expunge", m.dir, ErrCorrupt)
	}
	if err := checkSize(m.rd.f.OS(), h.Count); err != nil {
		return ch, err
	}
	m.setHeader(h)
	if h.Count > known {
		ch.Messages = h.Count
		if !m.readOnly {
			if err := m.claimNew(); err != nil {
				return ch, err
			}
		}
	}
	if h.HighestModSeq > m.lastModSeq {
		if ch.Flags, err = m.changedFlags(&h, known); err != nil {
			return ch, err
		}
		m.lastModSeq = h.HighestModSeq
	}
	return ch, nil
}

// replaced reports whether store.idx is no longer the view's file.
func (m *Mailbox) replaced() (bool, error) {
	fi, err := os.Stat(filepath.Join(m.dir, idxName))
	if err != nil {
		if _, derr := os.Stat(m.dir); os.IsNotExist(derr) {
			return false, fmt.Errorf("%s: %w", m.dir, ErrNotFound)
		}
		return false, fmt.Errorf("stat index: %w", notFoundOrCorrupt(err))
	}
	cur, err := m.rd.f.OS().Stat()
	if err != nil {
		return false, fmt.Errorf("stat index: %w", err)
	}
	return !os.SameFile(fi, cur), nil
}

// switchFile opens the new store.idx, finds which of the view's messages
// it no longer has and moves the view to it. The sequence numbers are
// returned in descending order.
func (m *Mailbox) switchFile() (index.Header, []uint32, error) {
	osf, err := openIndex(m.dir)
	if err != nil {
		return index.Header{}, nil, err
	}
	nf, err := m.opts.budget().Open(osf)
	if err != nil {
		osf.Close()
		return index.Header{}, nil, err
	}
	h, err := readHeaderRetry(m.dir, osf)
	if err == nil {
		err = checkSize(osf, h.Count)
	}
	var gone []uint32
	if err == nil {
		gone, err = expungedSeqs(&m.rd, &reader{dir: m.dir, f: nf, count: h.Count})
	}
	if err != nil {
		nf.Close()
		return index.Header{}, nil, err
	}
	m.rd.f.Close()
	m.rd.f = nf
	m.own = nil
	if m.cache != nil { // reconstruct may have replaced it too
		m.cache.Close()
		m.cache = nil
	}
	slices.Reverse(gone)
	return h, gone, nil
}

// expungedSeqs walks both sorted UID lists: the sequence numbers (in old)
// of old's messages that new does not have, ascending. Both files are
// read sequentially with large preads (not through the windows: a walk
// of ten million records would only churn them).
func expungedSeqs(old, new *reader) ([]uint32, error) {
	var gone []uint32
	ns := newRecordStream(new)
	ols := newRecordStream(old)
	var nuid uint32
	have := false
	for i := uint32(0); ; i++ {
		o, ok, err := ols.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return gone, nil
		}
		for !have || nuid < o.UID {
			n, ok, err := ns.next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			nuid, have = n.UID, true
		}
		if !have || nuid != o.UID {
			gone = append(gone, i+1)
		}
	}
}

// recordStream reads a reader's records in order with large preads. A
// record that fails its checksum (torn by a concurrent Store) is read
// again through the reader, which retries.
type recordStream struct {
	rd  *reader
	br  *bufio.Reader
	i   uint32
	buf [index.RecordSize]byte
}

func newRecordStream(rd *reader) *recordStream {
	sr := io.NewSectionReader(rd.f.OS(), index.HeaderSize, int64(rd.count)*index.RecordSize)
	return &recordStream{rd: rd, br: bufio.NewReaderSize(sr, 1<<20)}
}

func (s *recordStream) next() (index.Record, bool, error) {
	if s.i >= s.rd.count {
		return index.Record{}, false, nil
	}
	if _, err := io.ReadFull(s.br, s.buf[:]); err != nil {
		return index.Record{}, false, fmt.Errorf("read record %d of %s: %w: %v", s.i, s.rd.f.OS().Name(), ErrCorrupt, err)
	}
	r, err := index.DecodeRecord(s.buf[:])
	if err != nil {
		r, err = s.rd.record(s.i)
	}
	if err != nil {
		return index.Record{}, false, err
	}
	s.i++
	return r, true, nil
}

// claimNew moves the \Recent watermark over messages that arrived since
// the last claim and adds them to the view's \Recent range.
func (m *Mailbox) claimNew() error {
	r, err := claimRecent(m.dir)
	if err != nil || r.lo > r.hi {
		return err
	}
	if n := len(m.recent); n > 0 && m.recent[n-1].hi+1 == r.lo {
		m.recent[n-1].hi = r.hi
		return nil
	}
	m.recent = append(m.recent, r)
	return nil
}

// changedFlags lists the view's first known messages changed after the
// view's last modseq: from the header's change ring when it covers that
// span, else by a scan of the records.
func (m *Mailbox) changedFlags(h *index.Header, known uint32) ([]Message, error) {
	var out []Message
	add := func(seq uint32, rec index.Record) error {
		if rec.ModSeq <= m.lastModSeq {
			return nil
		}
		msg, err := m.message(seq, rec)
		if err == nil {
			out = append(out, msg)
		}
		return err
	}
	if m.lastModSeq >= h.RingFloor {
		var uids []uint32
		for _, e := range h.Ring {
			if e.ModSeq > m.lastModSeq {
				uids = append(uids, e.UID)
			}
		}
		slices.Sort(uids)
		uids = slices.Compact(uids)
		for _, uid := range uids {
			seq, ok, err := m.rd.seqOf(uid)
			if err != nil {
				return nil, err
			}
			if !ok || seq > known {
				continue
			}
			rec, err := m.rd.record(seq - 1)
			if err == nil {
				err = add(seq, rec)
			}
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	rs := newRecordStream(&reader{dir: m.dir, f: m.rd.f, count: known})
	for seq := uint32(1); ; seq++ {
		rec, ok, err := rs.next()
		if err == nil && ok {
			err = add(seq, rec)
		}
		if err != nil || !ok {
			return out, err
		}
	}
}
