package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"msgplex/store/index"
)

// Mailbox is one view; not safe for concurrent use by several goroutines
// except Wait (which may run alongside the others) and Close.
type Mailbox struct {
	dir      string
	readOnly bool
	opts     Options

	rd         reader
	h          index.Header // header matching rd.count
	keywords   []string
	lastModSeq uint64
	recent     []uidRange // read-write views: UID ranges claimed as \Recent
	recentFrom uint32     // read-only views: UIDs above it are \Recent

	cache *os.File // store.cache, opened on first use

	// own are records this view changed (Store) in a store.idx newer than
	// rd's, by UID; dropped when Sync switches files.
	own map[uint32]index.Record

	pollEvery time.Duration // tests: Wait's timeout (0: pollInterval)

	wmu     sync.Mutex
	watcher *fsnotify.Watcher
	sub     chan struct{} // from Options.Watcher
	unsub   func()
	werr    error
	closed  bool
}

// Open opens a view of the folder at dir. readOnly views (EXAMINE) never
// change \Recent state or flags.
func Open(dir string, readOnly bool, opts Options) (*Mailbox, error) {
	m := &Mailbox{dir: dir, readOnly: readOnly, opts: opts}
	osf, err := openIndex(dir)
	if err != nil {
		return nil, err
	}
	f, err := opts.budget().Open(osf)
	if err != nil {
		osf.Close()
		return nil, err
	}
	m.rd = reader{dir: dir, f: f}
	h, err := readOpenHeader(dir, osf)
	// Claim \Recent only when the header shows unclaimed messages: the
	// claim takes the folder lock, which a repeated SELECT need not pay.
	// claimRecent re-checks under the lock, so racing opens split the
	// range, never share it.
	var claimed uidRange
	if err == nil && !readOnly && h.RecentUID+1 < h.UIDNext {
		if claimed, err = claimRecent(dir); err == nil {
			h, err = readOpenHeader(dir, osf)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	m.setHeader(h)
	m.lastModSeq = h.HighestModSeq
	m.recentFrom = h.RecentUID
	if claimed.lo <= claimed.hi && claimed.hi > 0 {
		m.recent = append(m.recent, claimed)
	}
	return m, nil
}

// readOpenHeader reads the header of the index file osf and checks the
// file holds the records it claims.
func readOpenHeader(dir string, osf *os.File) (index.Header, error) {
	h, err := readHeaderRetry(dir, osf)
	if err == nil {
		err = checkSize(osf, h.Count)
	}
	return h, err
}

func (m *Mailbox) setHeader(h index.Header) {
	m.h = h
	m.rd.count = h.Count
	m.keywords = h.Keywords
}

// claimRecent moves the folder's \Recent watermark to UIDNEXT-1 and
// returns the UIDs it claimed (an empty range lo > hi when none).
func claimRecent(dir string) (uidRange, error) {
	t, err := begin(dir)
	if err != nil {
		return uidRange{}, err
	}
	defer t.end()
	r := uidRange{lo: t.h.RecentUID + 1, hi: t.h.UIDNext - 1}
	if r.lo > r.hi {
		return uidRange{lo: 1, hi: 0}, nil
	}
	t.h.RecentUID = r.hi
	// No fsync: losing a watermark move only shows \Recent again.
	return r, t.writeHeader(false)
}

// Close releases mappings and files.
func (m *Mailbox) Close() error {
	m.wmu.Lock()
	m.closed = true
	if m.watcher != nil {
		m.watcher.Close()
	}
	if m.unsub != nil {
		m.unsub()
	}
	m.wmu.Unlock()
	if m.cache != nil {
		m.cache.Close()
		m.cache = nil
	}
	if m.rd.f != nil {
		err := m.rd.f.Close()
		m.rd.f = nil
		return err
	}
	return nil
}

// Dir is the folder's directory.
func (m *Mailbox) Dir() string { return m.dir }

// ReadOnly reports whether the view was opened read-only.
func (m *Mailbox) ReadOnly() bool { return m.readOnly }

// Status of this view. An error finding FirstUnseen or \Recent (a corrupt
// record) leaves those 0; Message reports such errors.
func (m *Mailbox) Status() Status {
	st := statusOf(&m.h)
	st.Recent = m.recentCount()
	st.FirstUnseen, _ = m.rd.seqOfOrZero(m.h.FirstUnseenUID)
	return st
}

func (m *Mailbox) recentCount() uint32 {
	if m.readOnly {
		n, _ := m.rd.countAbove(m.recentFrom)
		return n
	}
	var total uint32
	for _, r := range m.recent {
		n, _ := m.rd.countIn(r.lo, r.hi)
		total += n
	}
	return total
}

func (m *Mailbox) isRecent(uid uint32) bool {
	if m.readOnly {
		return uid > m.recentFrom
	}
	for _, r := range m.recent {
		if uid >= r.lo && uid <= r.hi {
			return true
		}
	}
	return false
}

// Count is the number of messages in this view.
func (m *Mailbox) Count() uint32 { return m.rd.count }

// Message returns the record at sequence number seq (1-based) in this view.
func (m *Mailbox) Message(seq uint32) (Message, error) {
	if seq == 0 || seq > m.rd.count {
		return Message{}, ErrNoSuchMessage
	}
	rec, err := m.rd.record(seq - 1)
	if err != nil {
		return Message{}, err
	}
	return m.message(seq, rec)
}

func (m *Mailbox) message(seq uint32, rec index.Record) (Message, error) {
	return m.messageInto(seq, rec, make([]string, 0, 4))
}

// messageInto is message with the flag names appended to buf.
func (m *Mailbox) messageInto(seq uint32, rec index.Record, buf []string) (Message, error) {
	if o, ok := m.own[rec.UID]; ok {
		rec.Flags, rec.Keywords, rec.ModSeq = o.Flags, o.Keywords, o.ModSeq
	}
	flags, ok := appendFlagNames(buf, rec, m.keywords)
	if !ok {
		// A writer added keywords since our last header read.
		h, err := readHeaderRetry(m.dir, m.rd.f.OS())
		if err != nil {
			return Message{}, err
		}
		if len(h.Keywords) > len(m.keywords) { // tables only grow
			m.keywords = h.Keywords
		}
		if flags, ok = appendFlagNames(buf, rec, m.keywords); !ok {
			return Message{}, fmt.Errorf("UID %d: %w: keyword bit without name", rec.UID, ErrCorrupt)
		}
	}
	return Message{
		Seq: seq, UID: rec.UID, Flags: flags, Recent: m.isRecent(rec.UID),
		InternalDate: rec.Date, Size: int64(rec.Size), ModSeq: rec.ModSeq,
	}, nil
}

// SeqOf finds a UID in this view (binary search).
func (m *Mailbox) SeqOf(uid uint32) (seq uint32, ok bool) {
	seq, ok, _ = m.rd.seqOf(uid)
	return seq, ok
}

// recordOf returns msg's record, found by sequence number or UID.
func (m *Mailbox) recordOf(msg Message) (index.Record, error) {
	if msg.Seq > 0 && msg.Seq <= m.rd.count {
		if rec, err := m.rd.record(msg.Seq - 1); err != nil || rec.UID == msg.UID {
			return rec, err
		}
	}
	seq, ok, err := m.rd.seqOf(msg.UID)
	if err != nil {
		return index.Record{}, err
	}
	if !ok {
		return index.Record{}, ErrNoSuchMessage
	}
	return m.rd.record(seq - 1)
}

// Cache returns msg's store.cache blob (as made by the Summarizer), nil
// if the message has none.
func (m *Mailbox) Cache(msg Message) ([]byte, error) {
	rec, err := m.recordOf(msg)
	if err != nil {
		return nil, err
	}
	if rec.CacheOff == 0 {
		return nil, nil
	}
	blob, err := m.readCache(rec)
	if err != nil && errors.Is(err, ErrCorrupt) && m.cache != nil {
		// store.cache may have been replaced (reconstruct): reopen once.
		m.cache.Close()
		m.cache = nil
		blob, err = m.readCache(rec)
	}
	return blob, err
}

func (m *Mailbox) readCache(rec index.Record) ([]byte, error) {
	if m.cache == nil {
		f, err := os.Open(filepath.Join(m.dir, cacheName))
		if err != nil {
			return nil, fmt.Errorf("open cache: %w", notFoundOrCorrupt(err))
		}
		m.cache = f
	}
	return readCacheEntry(m.cache, rec)
}

func readCacheEntry(f *os.File, rec index.Record) ([]byte, error) {
	buf := make([]byte, index.CacheEntryHeader+int(rec.CacheLen))
	if _, err := f.ReadAt(buf, int64(rec.CacheOff)); err != nil {
		return nil, fmt.Errorf("cache of UID %d: %w: %v", rec.UID, ErrCorrupt, err)
	}
	blob, err := index.CacheEntry(rec, buf)
	if err != nil {
		return nil, fmt.Errorf("cache of UID %d: %w", rec.UID, err)
	}
	return blob, nil
}

// OpenMessage opens the message file of uid for reading (BODY[], partial).
func (m *Mailbox) OpenMessage(uid uint32) (*os.File, error) {
	f, err := os.Open(MessagePath(m.dir, uid))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("UID %d: %w", uid, ErrNoSuchMessage)
		}
		return nil, fmt.Errorf("open message: %w", err)
	}
	return f, nil
}
