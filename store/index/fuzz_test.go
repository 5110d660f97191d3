package index

import (
	"errors"
	"testing"
	"time"
)

// The decoders must return a value that re-encodes to the same bytes, or
// an error wrapping ErrCorrupt; never panic.

func FuzzHeader(f *testing.F) {
	b := make([]byte, SlotSize)
	h := sampleHeader()
	h.EncodeSlot(b)
	f.Add(b)
	f.Add(b[:100])
	f.Add(make([]byte, SlotSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeSlot(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		out := make([]byte, SlotSize)
		h.EncodeSlot(out)
		if string(out) != string(b[:SlotSize]) {
			t.Fatal("accepted header does not re-encode to the same bytes")
		}
	})
}

func FuzzPickHeader(f *testing.F) {
	b := make([]byte, HeaderSize)
	h := sampleHeader()
	h.EncodeSlot(b)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := PickHeader(b); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error not ErrCorrupt: %v", err)
		}
	})
}

func FuzzRecord(f *testing.F) {
	var b [RecordSize]byte
	r := Record{UID: 9, Flags: FlagSeen, Keywords: 3, Date: time.Unix(1e9, 0).UTC(), Size: 100, ModSeq: 4, CacheOff: 16, CacheLen: 5}
	r.Encode(b[:])
	f.Add(b[:])
	f.Add(make([]byte, RecordSize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		var out [RecordSize]byte
		r.Encode(out[:])
		if string(out[:]) != string(b[:RecordSize]) {
			t.Fatalf("accepted record re-encodes differently: %+v", r)
		}
	})
}

func FuzzCache(f *testing.F) {
	f.Add(EncodeCacheEntry(1, []byte("hello")), uint32(1), uint32(5))
	f.Add([]byte{255, 255, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0}, uint32(1), uint32(0))
	f.Add([]byte{}, uint32(0), uint32(0))
	f.Fuzz(func(t *testing.T, b []byte, uid, n uint32) {
		blob, err := CacheEntry(Record{UID: uid, CacheLen: n}, b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		if uint32(len(blob)) != n || string(EncodeCacheEntry(uid, blob)) != string(b[:CacheEntryHeader+len(blob)]) {
			t.Fatal("accepted entry does not match")
		}
	})
}
