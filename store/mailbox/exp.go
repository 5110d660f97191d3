package mailbox

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"msgplex/store/index"
)

const expEntrySize = 16

// Expunged is one store.exp entry.
type Expunged struct {
	UID  uint32
	Time time.Time
}

func encodeExp(uid uint32, when time.Time) []byte {
	b := make([]byte, expEntrySize)
	binary.LittleEndian.PutUint32(b, uid)
	binary.LittleEndian.PutUint64(b[8:], uint64(when.Unix()))
	binary.LittleEndian.PutUint32(b[4:], expCRC(b))
	return b
}

func expCRC(b []byte) uint32 {
	var tmp [12]byte
	copy(tmp[:4], b[:4])
	copy(tmp[4:], b[8:16])
	return index.Checksum(tmp[:])
}

// decodeExp decodes store.exp bytes, skipping entries that fail their
// checksum (a torn append).
func decodeExp(b []byte) []Expunged {
	var out []Expunged
	for ; len(b) >= expEntrySize; b = b[expEntrySize:] {
		if binary.LittleEndian.Uint32(b[4:]) != expCRC(b) {
			continue
		}
		uid := binary.LittleEndian.Uint32(b)
		if uid == 0 {
			continue
		}
		out = append(out, Expunged{UID: uid, Time: time.Unix(int64(binary.LittleEndian.Uint64(b[8:])), 0)})
	}
	return out
}

// appendExp appends entries to store.exp and fdatasyncs it.
func appendExp(dir string, uids []uint32, when time.Time) error {
	f, err := os.OpenFile(filepath.Join(dir, expName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", expName, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	off := fi.Size() - fi.Size()%expEntrySize // overwrite a torn tail
	buf := make([]byte, 0, len(uids)*expEntrySize)
	for _, uid := range uids {
		buf = append(buf, encodeExp(uid, when)...)
	}
	if _, err := f.WriteAt(buf, off); err != nil {
		return fmt.Errorf("write %s: %w", expName, err)
	}
	return datasync(f)
}

// ReadExpunged reads the folder's store.exp and every store.exp.*
// (cleanup's renamed ones): UIDs expunged whose files may still exist.
func ReadExpunged(dir string) ([]Expunged, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read folder: %w", err)
	}
	var out []Expunged
	for _, e := range ents {
		name := e.Name()
		if name != expName && !strings.HasPrefix(name, expName+".") || strings.HasSuffix(name, ".new") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		out = append(out, decodeExp(b)...)
	}
	return out, nil
}
