package index

import (
	"bytes"
	"encoding/binary"
)

// Cache file constants.
const (
	CacheFileHeader  = 16
	CacheEntryHeader = 12
	// MaxBlob bounds one cache blob (a message's summary).
	MaxBlob = 64 << 20
)

var cacheMagic = []byte("MSGPXCAC")

// CacheFileHeaderBytes is the 16-byte start of every store.cache.
func CacheFileHeaderBytes() []byte {
	b := make([]byte, CacheFileHeader)
	copy(b, cacheMagic)
	binary.LittleEndian.PutUint32(b[8:], Version)
	return b
}

// CheckCacheFileHeader checks the 16-byte start of a store.cache.
func CheckCacheFileHeader(b []byte) error {
	if len(b) < CacheFileHeader || !bytes.Equal(b[:8], cacheMagic) ||
		binary.LittleEndian.Uint32(b[8:]) != Version {
		return corruptf("bad cache file header")
	}
	return nil
}

// EncodeCacheEntry returns the bytes of one store.cache entry.
func EncodeCacheEntry(uid uint32, blob []byte) []byte {
	b := make([]byte, CacheEntryHeader+len(blob))
	le := binary.LittleEndian
	le.PutUint32(b, uint32(len(blob)))
	le.PutUint32(b[4:], uid)
	copy(b[CacheEntryHeader:], blob)
	le.PutUint32(b[8:], cacheCRC(b[4:8], blob))
	return b
}

func cacheCRC(uid, blob []byte) uint32 {
	c := Checksum(uid)
	return crc32Update(c, blob)
}

// DecodeCacheEntry checks an entry read from store.cache (at least its
// header and n blob bytes) and returns its UID and blob (aliasing b).
func DecodeCacheEntry(b []byte) (uid uint32, blob []byte, err error) {
	if len(b) < CacheEntryHeader {
		return 0, nil, corruptf("cache entry of %d bytes", len(b))
	}
	le := binary.LittleEndian
	n := le.Uint32(b)
	if n > MaxBlob || uint64(len(b)) < CacheEntryHeader+uint64(n) {
		return 0, nil, corruptf("cache entry length %d", n)
	}
	blob = b[CacheEntryHeader : CacheEntryHeader+int(n)]
	if got, want := le.Uint32(b[8:]), cacheCRC(b[4:8], blob); got != want {
		return 0, nil, corruptf("cache entry checksum %08x, want %08x", got, want)
	}
	uid = le.Uint32(b[4:])
	if uid == 0 {
		return 0, nil, corruptf("cache entry with UID 0")
	}
	return uid, blob, nil
}

// CacheEntry checks the entry of a record: b holds the bytes read at
// r.CacheOff (CacheEntryHeader + r.CacheLen of them).
func CacheEntry(r Record, b []byte) ([]byte, error) {
	uid, blob, err := DecodeCacheEntry(b)
	if err != nil {
		return nil, err
	}
	if uid != r.UID || uint32(len(blob)) != r.CacheLen {
		return nil, corruptf("cache entry of UID %d for record of UID %d", uid, r.UID)
	}
	return blob, nil
}
