package mailbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"msgplex/store/index"
)

// Report says what Reconstruct did.
type Report struct {
	Kept, Added, Dropped int
	UIDValidityKept      bool
	UIDValidity          uint32
}

// diskFile is a message file found in a folder.
type diskFile struct {
	path string
	uid  uint32 // from its name, 0 if the name is not <uid>.msg in the right NN/
	size int64
	info os.FileInfo
}

// oldIndex is what Reconstruct can still read of the previous index.
type oldIndex struct {
	ok   bool // header readable
	h    index.Header
	recs map[uint32]index.Record
	f    *os.File
}

// Reconstruct rebuilds store.idx and store.cache from the message files on
// disk, under the folder lock. From the old index (when readable) it keeps
// UIDVALIDITY, UIDNEXT, the keyword table and, for every message file
// still present, the UID, flags, internal date and cache entry; records
// whose file is gone are dropped (a record failing its checksum counts as
// unreadable). A message file the old index does not know and store.exp
// does not list (e.g. copied in by hand) keeps the UID in its name when
// that UID was never given out here (>= the old UIDNEXT; any UID when the
// old header is unreadable) and no other file has it; otherwise it gets a
// new UID above every known one and is renamed. (A UID below UIDNEXT would
// be invisible to clients that fetch new mail from their last UIDNEXT:
// DESIGN.md lesson 3.) New messages get their
// file's mtime as internal date and no flags; they are \Recent. With no
// readable old header, uidValidity is used. The new files are built under
// temp names, fsynced and renamed over the old ones.
func Reconstruct(dir string, uidValidity uint32, opts Options) (Report, error) {
	if _, err := os.Stat(dir); err != nil {
		return Report{}, fmt.Errorf("reconstruct %s: %w", dir, ErrNotFound)
	}
	l, err := lockFolder(dir, unix.LOCK_EX)
	if err != nil {
		return Report{}, err
	}
	defer l.unlock()
	removeStaleTemps(dir)
	old := readOldIndex(dir)
	if old.f != nil {
		defer old.f.Close()
	}
	files, err := scanMessageFiles(dir)
	if err != nil {
		return Report{}, err
	}
	exp, err := ReadExpunged(dir)
	if err != nil {
		return Report{}, err
	}
	plan := planReconstruct(old, files, exp)
	if !old.ok {
		plan.h.UIDValidity = uidValidity
	}
	if err := plan.rename(dir); err != nil {
		return Report{}, err
	}
	if err := plan.write(dir, old, opts); err != nil {
		return Report{}, err
	}
	rep := Report{Kept: plan.kept, Added: plan.added, Dropped: plan.dropped,
		UIDValidityKept: old.ok, UIDValidity: plan.h.UIDValidity}
	opts.logger().Info("reconstructed folder", "dir", dir, "kept", rep.Kept,
		"added", rep.Added, "dropped", rep.Dropped, "uidvalidity_kept", rep.UIDValidityKept)
	return rep, nil
}

func readOldIndex(dir string) oldIndex {
	var old oldIndex
	old.recs = map[uint32]index.Record{}
	f, err := os.Open(filepath.Join(dir, idxName))
	if err != nil {
		return old
	}
	old.f = f
	fi, err := f.Stat()
	if err != nil {
		return old
	}
	n := (fi.Size() - index.HeaderSize) / index.RecordSize
	if old.h, err = index.ReadHeader(f); err == nil {
		old.ok = true
		n = min(n, int64(old.h.Count))
	}
	// Keep every record that checks out, in UID order. Without a header
	// (no keyword table, no UIDNEXT) records past Count are read too:
	// they are messages whose files Reconstruct still finds.
	br := bufio.NewReaderSize(io.NewSectionReader(f, index.HeaderSize, n*index.RecordSize), 1<<20)
	var buf [index.RecordSize]byte
	last := uint32(0)
	for i := int64(0); i < n; i++ {
		if _, err := io.ReadFull(br, buf[:]); err != nil {
			break
		}
		r, err := index.DecodeRecord(buf[:])
		if err != nil || r.UID <= last || (old.ok && r.UID >= old.h.UIDNext) {
			continue
		}
		if !old.ok {
			r.Keywords = 0
		}
		old.recs[r.UID] = r
		last = r.UID
	}
	return old
}

// staleAge is how old a temp file must be before Reconstruct removes it
// (younger ones may belong to an APPEND in progress).
const staleAge = time.Hour

// removeStaleTemps removes temp files left by interrupted appends.
func removeStaleTemps(dir string) {
	for _, pattern := range []string{".tmp-*.msg", "[0-9][0-9]/*.msg.tmp", "*.new"} {
		names, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, name := range names {
			if fi, err := os.Stat(name); err == nil && time.Since(fi.ModTime()) > staleAge {
				os.Remove(name)
			}
		}
	}
}

// scanMessageFiles lists the *.msg files of the NN/ directories.
func scanMessageFiles(dir string) ([]diskFile, error) {
	var out []diskFile
	for n := 0; n < 100; n++ {
		sub := filepath.Join(dir, fmt.Sprintf("%02d", n))
		ents, err := os.ReadDir(sub)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", sub, err)
		}
		for _, e := range ents {
			name := e.Name()
			if !e.Type().IsRegular() || !strings.HasSuffix(name, ".msg") || strings.HasPrefix(name, ".") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			df := diskFile{path: filepath.Join(sub, name), size: info.Size(), info: info}
			if u, err := strconv.ParseUint(strings.TrimSuffix(name, ".msg"), 10, 32); err == nil &&
				u > 0 && int(u%100) == n && strconv.FormatUint(u, 10)+".msg" == name {
				df.uid = uint32(u)
			}
			out = append(out, df)
		}
	}
	return out, nil
}

// plan is the new index Reconstruct writes.
type plan struct {
	h                    index.Header
	recs                 []index.Record // sorted by UID
	files                map[uint32]diskFile
	renames              map[string]uint32 // file path -> new UID
	kept, added, dropped int
}

func planReconstruct(old oldIndex, files []diskFile, exp []Expunged) *plan {
	p := &plan{files: map[uint32]diskFile{}, renames: map[string]uint32{}}
	if old.ok {
		p.h = old.h
	}
	expunged := map[uint32]bool{}
	for _, e := range exp {
		expunged[e.UID] = true
	}
	var unknown []diskFile
	maxUID := uint32(0)
	if old.ok {
		maxUID = old.h.UIDNext - 1
	}
	for _, f := range files {
		if _, taken := p.files[f.uid]; f.uid == 0 || taken {
			unknown = append(unknown, f)
			continue
		}
		if r, ok := old.recs[f.uid]; ok {
			r.Size = uint64(f.size)
			p.recs = append(p.recs, r)
			p.files[f.uid] = f
			p.kept++
			continue
		}
		if expunged[f.uid] || (old.ok && f.uid < old.h.UIDNext) {
			if !expunged[f.uid] {
				unknown = append(unknown, f) // UID was used before: give a new one
			}
			continue
		}
		p.files[f.uid] = f
		p.recs = append(p.recs, newRecord(f.uid, f))
		p.added++
		maxUID = max(maxUID, f.uid)
	}
	for _, r := range p.recs {
		maxUID = max(maxUID, r.UID)
	}
	for _, f := range unknown {
		maxUID++
		p.renames[f.path] = maxUID
		p.files[maxUID] = f
		p.recs = append(p.recs, newRecord(maxUID, f))
		p.added++
	}
	p.dropped = len(old.recs) - p.kept
	slices.SortFunc(p.recs, func(a, b index.Record) int { return int(int64(a.UID) - int64(b.UID)) })
	return p
}

func newRecord(uid uint32, f diskFile) index.Record {
	return index.Record{UID: uid, Date: f.info.ModTime().Truncate(1e9), Size: uint64(f.size)}
}

// rename moves files that got a new UID to their new names.
func (p *plan) rename(dir string) error {
	dirs := map[string]bool{}
	for path, uid := range p.renames {
		sub, err := ensureSubdir(dir, uid)
		if err != nil {
			return err
		}
		dst := MessagePath(dir, uid)
		if err := os.Rename(path, dst); err != nil {
			return fmt.Errorf("rename %s: %w", path, err)
		}
		f := p.files[uid]
		f.path = dst
		p.files[uid] = f
		dirs[sub], dirs[filepath.Dir(path)] = true, true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// write builds store.cache and store.idx from the plan and renames them
// into place.
func (p *plan) write(dir string, old oldIndex, opts Options) error {
	if p.h.UIDValidity == 0 {
		return fmt.Errorf("reconstruct %s: no UIDVALIDITY", dir)
	}
	var oldCache *os.File
	if f, err := os.Open(filepath.Join(dir, cacheName)); err == nil {
		oldCache = f
		defer f.Close()
	}
	if err := p.writeCache(dir, oldCache, opts); err != nil {
		return err
	}
	h := &p.h
	modseq := h.HighestModSeq + 1
	kwMask := uint64(1)<<uint(len(h.Keywords)) - 1
	var c counters
	maxUID := uint32(0)
	for i := range p.recs {
		r := &p.recs[i]
		if r.ModSeq == 0 {
			r.ModSeq = modseq
		}
		r.Keywords &= kwMask
		c.add(*r)
		maxUID = max(maxUID, r.UID)
	}
	c.apply(h)
	h.HighestModSeq = max(h.HighestModSeq, modseq)
	h.UIDNext = max(h.UIDNext, maxUID+1)
	h.RecentUID = min(h.RecentUID, h.UIDNext-1)
	h.Flags = 0
	h.Ring, h.RingPos, h.RingFloor = [index.RingSize]index.RingEntry{}, 0, h.HighestModSeq
	err := writeNewIndex(dir, h, func(f *os.File) error {
		w := bufio.NewWriterSize(io.NewOffsetWriter(f, index.HeaderSize), 1<<20)
		var rb [index.RecordSize]byte
		for i := range p.recs {
			p.recs[i].Encode(rb[:])
			w.Write(rb[:])
		}
		return w.Flush()
	})
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// writeCache writes store.cache.new with an entry per record (the old
// entry when it checks out, else a new summary) and renames it into place.
func (p *plan) writeCache(dir string, oldCache *os.File, opts Options) error {
	tmp := filepath.Join(dir, cacheName+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create cache: %w", err)
	}
	defer f.Close()
	buf := index.CacheFileHeaderBytes()
	var base int64 // bytes written to f before buf
	for i := range p.recs {
		r := &p.recs[i]
		blob := p.blob(r, oldCache, opts)
		r.CacheOff, r.CacheLen = 0, 0
		if blob == nil {
			continue
		}
		r.CacheOff, r.CacheLen = uint64(base)+uint64(len(buf)), uint32(len(blob))
		buf = append(buf, index.EncodeCacheEntry(r.UID, blob)...)
		if len(buf) > 4<<20 {
			if _, err := f.Write(buf); err != nil {
				return fmt.Errorf("write cache: %w", err)
			}
			base += int64(len(buf))
			buf = buf[:0]
		}
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync cache: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, cacheName))
}

func (p *plan) blob(r *index.Record, oldCache *os.File, opts Options) []byte {
	if r.CacheOff != 0 && oldCache != nil {
		if b, err := readCacheEntry(oldCache, *r); err == nil {
			return b
		}
	}
	if opts.Summarize == nil {
		return nil
	}
	df := p.files[r.UID]
	f, err := os.Open(df.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := opts.Summarize(f, df.size)
	if err != nil {
		opts.logger().Warn("reconstruct: summarize failed", "file", df.path, "err", err)
		return nil
	}
	return b
}
