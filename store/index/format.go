package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"
)

// ErrCorrupt is wrapped by every format error: bad magic or version,
// checksum mismatch, impossible values.
var ErrCorrupt = errors.New("invalid store format")

// Format constants (see the package doc).
const (
	Version     = 1
	SlotSize    = 8192
	HeaderSize  = 2 * SlotSize
	RecordSize  = 64
	MaxKeywords = 64
	MaxKeyword  = 63
	RingSize    = 128

	kwOff   = 96
	kwEntry = 64
	ringOff = kwOff + MaxKeywords*kwEntry
	crcOff  = SlotSize - 4
)

var (
	idxMagic = []byte("MSGPXIDX")
	castagn  = crc32.MakeTable(crc32.Castagnoli)
)

// System flag bits of Record.Flags.
const (
	FlagSeen uint32 = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft

	flagsMask = FlagSeen | FlagAnswered | FlagFlagged | FlagDeleted | FlagDraft
)

// Header flag bits.
const (
	HeaderDirty uint32 = 1
)

// RingEntry is one slot of the header's change ring.
type RingEntry struct {
	UID    uint32
	ModSeq uint64
}

// Header is the decoded store.idx header (one slot).
type Header struct {
	UIDValidity    uint32
	UIDNext        uint32
	Count          uint32
	Unseen         uint32
	Deleted        uint32
	RecentUID      uint32
	Size           int64
	HighestModSeq  uint64
	Generation     uint64
	FirstUnseenUID uint32
	Flags          uint32
	RingFloor      uint64
	RingPos        uint32
	Keywords       []string
	Ring           [RingSize]RingEntry
}

// Checksum is CRC32C, the checksum of every structure here.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagn) }

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// ValidKeyword reports whether kw can be stored in the keyword table.
func ValidKeyword(kw string) bool {
	if kw == "" || len(kw) > MaxKeyword || kw[0] == '\\' {
		return false
	}
	for i := 0; i < len(kw); i++ {
		c := kw[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// KeywordIndex finds kw (case-insensitively) in the header's table.
func (h *Header) KeywordIndex(kw string) int {
	for i, k := range h.Keywords {
		if strings.EqualFold(k, kw) {
			return i
		}
	}
	return -1
}

// AddRing records that uid changed at modseq, moving RingFloor past the
// entry it overwrites.
func (h *Header) AddRing(uid uint32, modseq uint64) {
	pos := h.RingPos % RingSize
	if old := h.Ring[pos]; old.ModSeq != 0 && old.ModSeq > h.RingFloor {
		h.RingFloor = old.ModSeq
	}
	h.Ring[pos] = RingEntry{UID: uid, ModSeq: modseq}
	h.RingPos = (pos + 1) % RingSize
}

// EncodeSlot writes h into a SlotSize buffer with its checksum.
func (h *Header) EncodeSlot(b []byte) {
	clear(b[:SlotSize])
	le := binary.LittleEndian
	copy(b, idxMagic)
	le.PutUint32(b[8:], Version)
	le.PutUint32(b[12:], HeaderSize)
	le.PutUint32(b[16:], RecordSize)
	le.PutUint32(b[20:], h.UIDValidity)
	le.PutUint32(b[24:], h.UIDNext)
	le.PutUint32(b[28:], h.Count)
	le.PutUint32(b[32:], h.Unseen)
	le.PutUint32(b[36:], h.Deleted)
	le.PutUint32(b[40:], h.RecentUID)
	le.PutUint32(b[44:], uint32(len(h.Keywords)))
	le.PutUint64(b[48:], uint64(h.Size))
	le.PutUint64(b[56:], h.HighestModSeq)
	le.PutUint64(b[64:], h.Generation)
	le.PutUint32(b[72:], h.FirstUnseenUID)
	le.PutUint32(b[76:], h.Flags)
	le.PutUint64(b[80:], h.RingFloor)
	le.PutUint32(b[88:], h.RingPos)
	for i, kw := range h.Keywords {
		e := b[kwOff+i*kwEntry:]
		e[0] = byte(len(kw))
		copy(e[1:kwEntry], kw)
	}
	for i, r := range h.Ring {
		e := b[ringOff+i*16:]
		le.PutUint32(e, r.UID)
		le.PutUint64(e[8:], r.ModSeq)
	}
	le.PutUint32(b[crcOff:], Checksum(b[:crcOff]))
}

// DecodeSlot decodes one header slot, checking everything it can.
func DecodeSlot(b []byte) (Header, error) {
	var h Header
	if len(b) < SlotSize {
		return h, corruptf("header slot of %d bytes", len(b))
	}
	le := binary.LittleEndian
	if !bytes.Equal(b[:8], idxMagic) {
		return h, corruptf("bad header magic")
	}
	if got, want := le.Uint32(b[crcOff:]), Checksum(b[:crcOff]); got != want {
		return h, corruptf("header checksum %08x, want %08x", got, want)
	}
	if v := le.Uint32(b[8:]); v != Version {
		return h, corruptf("version %d", v)
	}
	if le.Uint32(b[12:]) != HeaderSize || le.Uint32(b[16:]) != RecordSize {
		return h, corruptf("header or record size")
	}
	h.UIDValidity = le.Uint32(b[20:])
	h.UIDNext = le.Uint32(b[24:])
	h.Count = le.Uint32(b[28:])
	h.Unseen = le.Uint32(b[32:])
	h.Deleted = le.Uint32(b[36:])
	h.RecentUID = le.Uint32(b[40:])
	nkw := le.Uint32(b[44:])
	h.Size = int64(le.Uint64(b[48:]))
	h.HighestModSeq = le.Uint64(b[56:])
	h.Generation = le.Uint64(b[64:])
	h.FirstUnseenUID = le.Uint32(b[72:])
	h.Flags = le.Uint32(b[76:])
	h.RingFloor = le.Uint64(b[80:])
	h.RingPos = le.Uint32(b[88:])
	if err := h.check(nkw); err != nil {
		return Header{}, err
	}
	h.Keywords = make([]string, nkw)
	for i := range h.Keywords {
		e := b[kwOff+i*kwEntry:]
		n := int(e[0])
		if n == 0 || n > MaxKeyword || !ValidKeyword(string(e[1:1+n])) {
			return Header{}, corruptf("keyword %d", i)
		}
		h.Keywords[i] = string(e[1 : 1+n])
	}
	for i := range h.Ring {
		e := b[ringOff+i*16:]
		h.Ring[i] = RingEntry{UID: le.Uint32(e), ModSeq: le.Uint64(e[8:])}
		if h.Ring[i].ModSeq > h.HighestModSeq {
			return Header{}, corruptf("ring modseq past highest")
		}
	}
	return h, nil
}

func (h *Header) check(nkw uint32) error {
	switch {
	case h.UIDValidity == 0:
		return corruptf("UIDVALIDITY 0")
	case h.UIDNext == 0 || uint64(h.Count) >= uint64(h.UIDNext):
		return corruptf("UIDNEXT %d with %d messages", h.UIDNext, h.Count)
	case h.Unseen > h.Count || h.Deleted > h.Count:
		return corruptf("counters %d/%d over %d messages", h.Unseen, h.Deleted, h.Count)
	case h.RecentUID >= h.UIDNext || h.FirstUnseenUID >= h.UIDNext:
		return corruptf("UID past UIDNEXT")
	case h.Size < 0:
		return corruptf("negative size")
	case nkw > MaxKeywords:
		return corruptf("%d keywords", nkw)
	case h.RingPos >= RingSize || h.RingFloor > h.HighestModSeq:
		return corruptf("change ring")
	case h.Flags&^HeaderDirty != 0:
		return corruptf("header flags %x", h.Flags)
	}
	return nil
}

// PickHeader decodes both slots of a store.idx header area and returns
// the valid one with the higher Generation, and its slot number.
func PickHeader(b []byte) (Header, int, error) {
	if len(b) < HeaderSize {
		return Header{}, 0, corruptf("file of %d bytes has no header", len(b))
	}
	a, errA := DecodeSlot(b[:SlotSize])
	c, errB := DecodeSlot(b[SlotSize:HeaderSize])
	switch {
	case errA != nil && errB != nil:
		return Header{}, 0, fmt.Errorf("both header slots: %w", errA)
	case errB != nil || (errA == nil && a.Generation >= c.Generation):
		return a, 0, nil
	default:
		return c, 1, nil
	}
}

// Record is one message's index record.
type Record struct {
	UID      uint32
	Flags    uint32
	Keywords uint64
	Date     time.Time
	Size     uint64
	ModSeq   uint64
	CacheOff uint64
	CacheLen uint32
}

// RecordOffset is the file offset of record i (0-based).
func RecordOffset(i uint32) int64 { return HeaderSize + int64(i)*RecordSize }

// Encode writes r into b (RecordSize bytes) with its checksum.
func (r *Record) Encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b, r.UID)
	le.PutUint32(b[4:], r.Flags)
	le.PutUint64(b[8:], r.Keywords)
	le.PutUint64(b[16:], uint64(r.Date.Unix()))
	le.PutUint64(b[24:], r.Size)
	le.PutUint64(b[32:], r.ModSeq)
	le.PutUint64(b[40:], r.CacheOff)
	le.PutUint32(b[48:], r.CacheLen)
	_, off := r.Date.Zone()
	if off < -maxZone || off > maxZone {
		off = 0 // no real zone is that far off: keep the instant, in UTC
	}
	le.PutUint32(b[52:], uint32(int32(off)))
	le.PutUint32(b[56:], 0)
	le.PutUint32(b[60:], Checksum(b[:60]))
}

// maxZone bounds a zone offset (a day either way).
const maxZone = 24 * 3600

// DecodeRecord decodes and checks one record.
func DecodeRecord(b []byte) (Record, error) {
	if len(b) < RecordSize {
		return Record{}, corruptf("record of %d bytes", len(b))
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[60:]), Checksum(b[:60]); got != want {
		return Record{}, corruptf("record checksum %08x, want %08x", got, want)
	}
	r := Record{
		UID:      le.Uint32(b),
		Flags:    le.Uint32(b[4:]),
		Keywords: le.Uint64(b[8:]),
		Size:     le.Uint64(b[24:]),
		ModSeq:   le.Uint64(b[32:]),
		CacheOff: le.Uint64(b[40:]),
		CacheLen: le.Uint32(b[48:]),
	}
	zone := int32(le.Uint32(b[52:]))
	switch {
	case r.UID == 0:
		return Record{}, corruptf("record with UID 0")
	case r.Flags&^flagsMask != 0:
		return Record{}, corruptf("record flags %x", r.Flags)
	case zone < -maxZone || zone > maxZone || le.Uint32(b[56:]) != 0:
		return Record{}, corruptf("record zone or reserved field")
	case r.Size > 1<<62 || r.CacheOff > 1<<62:
		return Record{}, corruptf("record size or offset")
	}
	r.Date = time.Unix(int64(le.Uint64(b[16:])), 0).In(zoneOf(zone))
	return r, nil
}

func zoneOf(off int32) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", int(off))
}

func crc32Update(c uint32, b []byte) uint32 { return crc32.Update(c, castagn, b) }
