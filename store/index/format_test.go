package index

import (
	"errors"
	"testing"
	"time"
)

func sampleHeader() Header {
	h := Header{UIDValidity: 7, UIDNext: 100, Count: 50, Unseen: 3, Deleted: 2, RecentUID: 90,
		Size: 1 << 40, HighestModSeq: 500, Generation: 9, FirstUnseenUID: 12,
		Keywords: []string{"$Junk", "Work"}}
	h.AddRing(5, 499)
	h.AddRing(6, 500)
	return h
}

func TestHeaderRoundTrip(t *testing.T) {
	h := sampleHeader()
	buf := make([]byte, SlotSize)
	h.EncodeSlot(buf)
	got, err := DecodeSlot(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.UIDNext != 100 || got.Size != 1<<40 || got.Keywords[1] != "Work" || got.Ring[1].UID != 6 || got.RingPos != 2 {
		t.Fatalf("decoded %+v", got)
	}
}

func TestHeaderRejects(t *testing.T) {
	tests := []struct {
		name string
		mod  func(h *Header, b []byte)
	}{
		{"bit flip", func(h *Header, b []byte) { h.EncodeSlot(b); b[30] ^= 1 }},
		{"magic", func(h *Header, b []byte) { h.EncodeSlot(b); b[0] = 'X' }},
		{"uidvalidity 0", func(h *Header, b []byte) { h.UIDValidity = 0; h.EncodeSlot(b) }},
		{"count past uidnext", func(h *Header, b []byte) { h.Count = 100; h.EncodeSlot(b) }},
		{"unseen past count", func(h *Header, b []byte) { h.Unseen = 51; h.EncodeSlot(b) }},
		{"negative size", func(h *Header, b []byte) { h.Size = -1; h.EncodeSlot(b) }},
		{"ring modseq", func(h *Header, b []byte) { h.Ring[3].ModSeq = 501; h.EncodeSlot(b) }},
		{"bad keyword", func(h *Header, b []byte) { h.Keywords = []string{"a b"}; h.EncodeSlot(b) }},
		{"short", func(h *Header, b []byte) { h.EncodeSlot(b) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := sampleHeader()
			b := make([]byte, SlotSize)
			tc.mod(&h, b)
			if tc.name == "short" {
				b = b[:100]
			}
			if _, err := DecodeSlot(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestPickHeader(t *testing.T) {
	b := make([]byte, HeaderSize)
	h := sampleHeader()
	h.EncodeSlot(b[:SlotSize])
	h.Generation++
	h.Count = 51
	h.EncodeSlot(b[SlotSize:])
	got, slot, err := PickHeader(b)
	if err != nil || slot != 1 || got.Count != 51 {
		t.Fatalf("newest: %d %d %v", slot, got.Count, err)
	}
	b[SlotSize+40] ^= 0xff // torn newest: fall back to the older slot
	got, slot, err = PickHeader(b)
	if err != nil || slot != 0 || got.Count != 50 {
		t.Fatalf("fallback: %d %d %v", slot, got.Count, err)
	}
	b[40] ^= 0xff
	if _, _, err := PickHeader(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("both torn: %v", err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []Record{
		{UID: 1, Date: time.Unix(0, 0).UTC()},
		{UID: 4e9, Flags: FlagSeen | FlagDraft, Keywords: 1<<63 | 1, Date: time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)),
			Size: 10 << 30, ModSeq: 1 << 50, CacheOff: 5 << 32, CacheLen: 1234},
	}
	for _, r := range tests {
		var b [RecordSize]byte
		r.Encode(b[:])
		got, err := DecodeRecord(b[:])
		if err != nil {
			t.Fatal(err)
		}
		_, z1 := got.Date.Zone()
		_, z2 := r.Date.Zone()
		if !got.Date.Equal(r.Date) || z1 != z2 {
			t.Fatalf("date %v, want %v", got.Date, r.Date)
		}
		got.Date = r.Date
		if got != r {
			t.Fatalf("got %+v want %+v", got, r)
		}
		for i := 0; i < RecordSize; i++ { // every single-byte change is caught
			c := b
			c[i] ^= 0x40
			if _, err := DecodeRecord(c[:]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d flip not detected", i)
			}
		}
	}
	var odd [RecordSize]byte
	r := Record{UID: 1, Date: time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("", 30*3600))}
	r.Encode(odd[:])
	if got, err := DecodeRecord(odd[:]); err != nil || !got.Date.Equal(r.Date) {
		t.Fatalf("zone past a day: %v %v", got.Date, err)
	}
	var zero [RecordSize]byte
	if _, err := DecodeRecord(zero[:]); !errors.Is(err, ErrCorrupt) {
		t.Fatal("all-zero record accepted")
	}
}

func TestCacheEntry(t *testing.T) {
	e := EncodeCacheEntry(42, []byte("envelope"))
	r := Record{UID: 42, CacheLen: 8}
	blob, err := CacheEntry(r, e)
	if err != nil || string(blob) != "envelope" {
		t.Fatalf("%q %v", blob, err)
	}
	if _, err := CacheEntry(Record{UID: 43, CacheLen: 8}, e); !errors.Is(err, ErrCorrupt) {
		t.Fatal("wrong UID accepted")
	}
	e[14] ^= 1
	if _, err := CacheEntry(r, e); !errors.Is(err, ErrCorrupt) {
		t.Fatal("flipped blob accepted")
	}
	if err := CheckCacheFileHeader(CacheFileHeaderBytes()); err != nil {
		t.Fatal(err)
	}
	if err := CheckCacheFileHeader([]byte("MSGPXCAC")); !errors.Is(err, ErrCorrupt) {
		t.Fatal("short cache header accepted")
	}
}
