package mailbox

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"msgplex/store/index"
)

// Append stores a message durably (file fsynced with its directory, cache
// and index records fsynced) and returns its UID. The view does not see
// it until Sync. Read-only views may append (APPEND to an EXAMINEd
// folder is allowed).
func (m *Mailbox) Append(r io.Reader, flags []string, date time.Time) (uid uint32, err error) {
	return AppendTo(m.dir, r, flags, date, m.opts)
}

// AppendTo appends to the folder at dir without a view (APPEND to a
// folder that is not selected), with Append's durability.
func AppendTo(dir string, r io.Reader, flags []string, date time.Time, opts Options) (uint32, error) {
	pf, err := parseFlags(flags)
	if err != nil {
		return 0, err
	}
	tmp, size, err := writeTemp(dir, r)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	defer tmp.Close()
	var blob []byte
	if opts.Summarize != nil {
		if _, err = tmp.Seek(0, io.SeekStart); err == nil {
			blob, err = opts.Summarize(tmp, size)
		}
		if err != nil {
			return 0, fmt.Errorf("summarize message: %w", err)
		}
	}
	t, err := begin(dir)
	if err != nil {
		return 0, err
	}
	defer t.end()
	a := newMsg{path: tmp.Name(), size: size, date: date, sys: pf.sys, kws: pf.kws, blob: blob}
	uids, err := t.add([]newMsg{a}, renameInto)
	if err != nil {
		return 0, err
	}
	return uids[0], nil
}

// writeTemp copies r into a new fsynced temp file in dir.
func writeTemp(dir string, r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(dir, ".tmp-*.msg")
	if err != nil {
		if os.IsNotExist(err) {
			return nil, 0, fmt.Errorf("append to %s: %w", dir, ErrNotFound)
		}
		return nil, 0, fmt.Errorf("append: %w", err)
	}
	size, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, fmt.Errorf("write message: %w", err)
	}
	return f, size, nil
}

// newMsg is a message being added to a folder by add.
type newMsg struct {
	path string // file to put in place as NN/<uid>.msg
	size int64
	date time.Time
	sys  uint32
	kws  []string
	kw   uint64 // kws as bits of the folder's table (set by placeAll)
	blob []byte
}

// placeFunc puts src in place as the message file dst.
type placeFunc func(src, dst string) error

func renameInto(src, dst string) error { return os.Rename(src, dst) }

// add gives msgs the next UIDs, places their files (fsyncing their
// directories), appends their cache entries (fdatasync), writes their
// records (fdatasync) and then the header (fdatasync). When it fails
// before writing the header (ENOSPC, EIO) it removes the message files it
// placed: the caller answers NO, so Reconstruct must not adopt them later.
func (t *txn) add(msgs []newMsg, place placeFunc) (uids []uint32, err error) {
	var placed []string
	defer func() {
		if err != nil {
			for _, p := range placed {
				_ = os.Remove(p)
			}
		}
	}()
	uids, placed, err = t.placeAll(msgs, place)
	if err != nil {
		return nil, err
	}
	recs := make([]index.Record, len(msgs))
	modseq := t.h.HighestModSeq + 1
	for i, a := range msgs {
		recs[i] = index.Record{UID: uids[i], Flags: a.sys, Keywords: a.kw, Date: a.date,
			Size: uint64(a.size), ModSeq: modseq}
	}
	// The directories, store.cache and the records are independent: sync
	// them in parallel; all must be durable before the header.
	if err := t.syncBeforeHeader(placed, msgs, recs); err != nil {
		return nil, err
	}
	for i := range recs {
		t.countNew(&recs[i])
	}
	t.h.HighestModSeq = modseq
	placed = nil // from here on a failure may have counted them
	return uids, t.writeHeader(true)
}

// placeAll gives msgs the next UIDs (and their keywords bits) and puts
// their files in place; it returns the paths placed, also on error.
func (t *txn) placeAll(msgs []newMsg, place placeFunc) ([]uint32, []string, error) {
	if uint64(t.h.UIDNext)+uint64(len(msgs)) >= 1<<32 {
		return nil, nil, fmt.Errorf("%s: %w", t.dir, ErrFull)
	}
	uids := make([]uint32, len(msgs))
	var placed []string
	for i := range msgs {
		a := &msgs[i]
		kw, err := keywordBits(&t.h, a.kws, true)
		if err != nil {
			return nil, placed, err
		}
		a.kw = kw
		uid := t.h.UIDNext + uint32(i)
		uids[i] = uid
		if _, err := ensureSubdir(t.dir, uid); err != nil {
			return nil, placed, err
		}
		dst := MessagePath(t.dir, uid)
		if err := place(a.path, dst); err != nil {
			return nil, placed, fmt.Errorf("place message %d: %w", uid, err)
		}
		placed = append(placed, dst)
	}
	return uids, placed, nil
}

// syncBeforeHeader makes the message directories, the cache entries and
// the records of new messages durable, concurrently: they are
// independent, and all must be durable before the header.
func (t *txn) syncBeforeHeader(placed []string, msgs []newMsg, recs []index.Record) error {
	cache, err := t.prepareCache(msgs, recs)
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, p := range placed {
		dirs[filepath.Dir(p)] = true
	}
	var g errgroup.Group
	for d := range dirs {
		g.Go(func() error { return syncDir(d) })
	}
	if cache != nil {
		g.Go(cache)
	}
	g.Go(func() error {
		for i := range recs {
			if err := t.writeRecord(t.h.Count+uint32(i), &recs[i]); err != nil {
				return err
			}
		}
		return datasync(t.f)
	})
	return g.Wait()
}

// countNew adds a record just written past the end to the header.
func (t *txn) countNew(r *index.Record) {
	t.h.Count++
	t.h.UIDNext = r.UID + 1
	t.h.Size += int64(r.Size)
	if r.Flags&index.FlagSeen == 0 {
		t.h.Unseen++
		if t.h.FirstUnseenUID == 0 {
			t.h.FirstUnseenUID = r.UID
		}
	}
	if r.Flags&index.FlagDeleted != 0 {
		t.h.Deleted++
	}
	t.h.AddRing(r.UID, r.ModSeq)
}

// ensureSubdir makes the NN directory of uid (fsyncing the folder when
// it is new) and returns its path.
func ensureSubdir(dir string, uid uint32) (string, error) {
	sub := filepath.Join(dir, subdir(uid))
	if _, err := os.Stat(sub); err == nil {
		return sub, nil
	}
	if err := os.Mkdir(sub, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("mkdir %s: %w", sub, err)
	}
	return sub, syncDir(dir)
}

// prepareCache fills in the records' cache offsets for the messages'
// blobs and returns the function that appends them to store.cache and
// fdatasyncs it (nil when there are none).
func (t *txn) prepareCache(msgs []newMsg, recs []index.Record) (func() error, error) {
	need := false
	for _, a := range msgs {
		need = need || a.blob != nil
	}
	if !need {
		return nil, nil
	}
	f, off, err := openCacheAppend(t.dir)
	if err != nil {
		return nil, err
	}
	start := off
	var buf []byte
	for i, a := range msgs {
		if a.blob == nil {
			continue
		}
		e := index.EncodeCacheEntry(recs[i].UID, a.blob)
		recs[i].CacheOff, recs[i].CacheLen = uint64(off), uint32(len(a.blob))
		buf = append(buf, e...)
		off += int64(len(e))
	}
	return func() error {
		defer f.Close()
		if _, err := f.WriteAt(buf, start); err != nil {
			return fmt.Errorf("write cache: %w", err)
		}
		return datasync(f)
	}, nil
}

// openCacheAppend opens store.cache for appending (creating it with its
// file header) and returns the offset of its end.
func openCacheAppend(dir string) (*os.File, int64, error) {
	f, err := os.OpenFile(filepath.Join(dir, cacheName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("open cache: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat cache: %w", err)
	}
	off := fi.Size()
	if off < index.CacheFileHeader {
		if _, err := f.WriteAt(index.CacheFileHeaderBytes(), 0); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("write cache header: %w", err)
		}
		off = index.CacheFileHeader
	}
	return f, off, nil
}
