package mailbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"msgplex/store/index"
)

// BulkMessage is one message for BulkAppend.
type BulkMessage struct {
	// Data is the message. Nil writes no message file: an index-only
	// message of Size bytes, for benchmarks of the index alone (such a
	// folder cannot serve bodies, and Reconstruct drops those records).
	Data  []byte
	Size  int64
	Flags []string
	Date  time.Time
}

// BulkAppend appends n messages made by gen(0..n-1) under one lock hold
// with one sync of the file system at the end (syncfs) instead of the
// per-message fsyncs of Append. It exists to build very large folders for
// benchmarks and imports; it is NOT for normal use: a crash before it
// returns may lose any of the messages. It returns the first new UID.
func BulkAppend(dir string, n int, gen func(i int) BulkMessage, opts Options) (uint32, error) {
	t, err := begin(dir)
	if err != nil {
		return 0, err
	}
	defer t.end()
	if uint64(t.h.UIDNext)+uint64(n) >= 1<<32 {
		return 0, fmt.Errorf("%s: %w", dir, ErrFull)
	}
	first := t.h.UIDNext
	cf, coff, err := openCacheAppend(dir)
	if err != nil {
		return 0, err
	}
	defer cf.Close()
	cw := bufio.NewWriterSize(io.NewOffsetWriter(cf, coff), 1<<20)
	iw := bufio.NewWriterSize(io.NewOffsetWriter(t.f, index.RecordOffset(t.h.Count)), 1<<20)
	modseq := t.h.HighestModSeq
	var rb [index.RecordSize]byte
	for i := 0; i < n; i++ {
		bm := gen(i)
		rec, blob, err := t.bulkOne(bm, opts.Summarize)
		if err != nil {
			return 0, err
		}
		modseq++
		rec.ModSeq = modseq
		if blob != nil {
			rec.CacheOff, rec.CacheLen = uint64(coff), uint32(len(blob))
			e := index.EncodeCacheEntry(rec.UID, blob)
			cw.Write(e)
			coff += int64(len(e))
		}
		rec.Encode(rb[:])
		if _, err := iw.Write(rb[:]); err != nil {
			return 0, fmt.Errorf("write index: %w", err)
		}
		t.countNew(&rec)
	}
	if err := cw.Flush(); err != nil {
		return 0, fmt.Errorf("write cache: %w", err)
	}
	if err := iw.Flush(); err != nil {
		return 0, fmt.Errorf("write index: %w", err)
	}
	if err := unix.Syncfs(int(t.f.Fd())); err != nil {
		return 0, fmt.Errorf("syncfs: %w", err)
	}
	t.h.HighestModSeq = modseq
	return first, t.writeHeader(true)
}

// bulkOne writes one bulk message's file (not fsynced) and returns its
// record (UID = UIDNEXT + messages added so far) and cache blob.
func (t *txn) bulkOne(bm BulkMessage, sum Summarizer) (index.Record, []byte, error) {
	pf, err := parseFlags(bm.Flags)
	if err != nil {
		return index.Record{}, nil, err
	}
	kw, err := keywordBits(&t.h, pf.kws, true)
	if err != nil {
		return index.Record{}, nil, err
	}
	uid := t.h.UIDNext
	rec := index.Record{UID: uid, Flags: pf.sys, Keywords: kw, Date: bm.Date, Size: uint64(bm.Size)}
	if bm.Data == nil {
		return rec, nil, nil
	}
	rec.Size = uint64(len(bm.Data))
	if _, err := ensureSubdir(t.dir, uid); err != nil {
		return rec, nil, err
	}
	path := MessagePath(t.dir, uid)
	if err := os.WriteFile(path, bm.Data, 0o600); err != nil {
		return rec, nil, fmt.Errorf("write message: %w", err)
	}
	if sum == nil {
		return rec, nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return rec, nil, err
	}
	defer f.Close()
	blob, err := sum(f, int64(len(bm.Data)))
	if err != nil {
		return rec, nil, fmt.Errorf("summarize message: %w", err)
	}
	return rec, blob, nil
}
