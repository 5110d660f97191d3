package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"msgplex/store/index"
)

// Create makes an empty folder directory with the given UIDVALIDITY
// (ErrExists if it already has a store.idx). Parent directories are made
// as needed.
func Create(dir string, uidValidity uint32) error {
	if uidValidity == 0 {
		return errors.New("create folder: UIDVALIDITY 0")
	}
	if _, err := os.Stat(filepath.Join(dir, idxName)); err == nil {
		return fmt.Errorf("create %s: %w", dir, ErrExists)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	l, err := lockFolder(dir, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer l.unlock()
	if _, err := os.Stat(filepath.Join(dir, idxName)); err == nil {
		return fmt.Errorf("create %s: %w", dir, ErrExists)
	}
	h := index.Header{UIDValidity: uidValidity, UIDNext: 1}
	if err := writeNewIndex(dir, &h, nil); err != nil {
		return err
	}
	if err := writeFileDurable(filepath.Join(dir, cacheName), index.CacheFileHeaderBytes()); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// writeNewIndex writes a complete store.idx (header in slot 0, records)
// under a temp name, fsyncs it and renames it over store.idx. The caller
// fsyncs dir.
func writeNewIndex(dir string, h *index.Header, write func(f *os.File) error) error {
	tmp := filepath.Join(dir, idxName+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	defer f.Close()
	if write != nil {
		if err := write(f); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	h.Generation++
	buf := make([]byte, index.HeaderSize)
	h.EncodeSlot(buf)
	if _, err := f.WriteAt(buf, 0); err != nil {
		return fmt.Errorf("write index header: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync index: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, idxName)); err != nil {
		return fmt.Errorf("rename index: %w", err)
	}
	return nil
}

// writeFileDurable writes a small file with temp + fsync + rename.
func writeFileDurable(path string, data []byte) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}

// openIndex opens the folder's current store.idx read-only.
func openIndex(dir string) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, idxName))
	if err == nil {
		return f, nil
	}
	if _, serr := os.Stat(dir); serr != nil && os.IsNotExist(serr) {
		return nil, fmt.Errorf("open %s: %w", dir, ErrNotFound)
	}
	return nil, fmt.Errorf("open index: %w", notFoundOrCorrupt(err))
}

// readHeaderRetry reads a header that a writer may be changing: a slot
// torn by a concurrent write fails its checksum, so retry, and at last
// read under a shared lock.
func readHeaderRetry(dir string, f *os.File) (index.Header, error) {
	var err error
	for try := 0; try < 3; try++ {
		var h index.Header
		if h, err = index.ReadHeader(f); err == nil || !errors.Is(err, ErrCorrupt) {
			return h, err
		}
		time.Sleep(time.Millisecond)
	}
	l, lerr := lockFolder(dir, unix.LOCK_SH)
	if lerr != nil {
		return index.Header{}, err
	}
	defer l.unlock()
	return index.ReadHeader(f)
}

// ReadStatus reads a folder's header without opening a view (STATUS).
// Recent counts the messages above the \Recent watermark.
func ReadStatus(dir string, opts Options) (Status, error) {
	osf, err := openIndex(dir)
	if err != nil {
		return Status{}, err
	}
	f, err := opts.budget().Open(osf)
	if err != nil {
		osf.Close()
		return Status{}, err
	}
	defer f.Close()
	h, err := readHeaderRetry(dir, osf)
	if err != nil {
		return Status{}, err
	}
	if err := checkSize(osf, h.Count); err != nil {
		return Status{}, err
	}
	r := reader{dir: dir, f: f, count: h.Count}
	st := statusOf(&h)
	if st.Recent, err = r.countAbove(h.RecentUID); err != nil {
		return Status{}, err
	}
	if st.FirstUnseen, err = r.seqOfOrZero(h.FirstUnseenUID); err != nil {
		return Status{}, err
	}
	return st, nil
}

func statusOf(h *index.Header) Status {
	return Status{
		Messages: h.Count, Unseen: h.Unseen, Deleted: h.Deleted,
		UIDNext: h.UIDNext, UIDValidity: h.UIDValidity, Size: h.Size,
		HighestModSeq: h.HighestModSeq,
	}
}

// checkSize rejects a header counting more records than the file holds.
func checkSize(f *os.File, count uint32) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat index: %w", err)
	}
	if fi.Size() < index.RecordOffset(count) {
		return fmt.Errorf("%s: %w: %d records need %d bytes, file has %d",
			f.Name(), ErrCorrupt, count, index.RecordOffset(count), fi.Size())
	}
	return nil
}
