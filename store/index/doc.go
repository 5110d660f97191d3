// Package index is the binary format of a folder's store.idx and
// store.cache files, and the bounded, budget-accounted memory mappings
// through which readers see store.idx.
//
// # store.idx
//
// All integers are little-endian; every offset and size is 64-bit, so no
// file has a 2 GiB (or 4 GiB) limit. The file is:
//
//	offset 0      header slot A (SlotSize = 8192 bytes)
//	offset 8192   header slot B (8192 bytes)
//	offset 16384  record 0, record 1, ... (RecordSize = 64 bytes each)
//
// Record n-1 is the message with sequence number n; records are sorted by
// UID (strictly increasing), so UID -> sequence number is a binary search.
// Only the first Count records (Count from the header) are messages;
// bytes past them are ignored (a record written by an append whose header
// never became durable).
//
// A header slot (SlotSize bytes; fields at these byte offsets):
//
//	0    [8]byte  magic "MSGPXIDX"
//	8    uint32   version (1)
//	12   uint32   header size: offset of record 0 (16384)
//	16   uint32   record size (64)
//	20   uint32   UIDVALIDITY
//	24   uint32   UIDNEXT
//	28   uint32   Count: number of records (messages)
//	32   uint32   Unseen: messages without \Seen
//	36   uint32   Deleted: messages with \Deleted
//	40   uint32   RecentUID: messages with a UID above it are \Recent for
//	              the next read-write view that opens the folder
//	44   uint32   number of keywords in the keyword table (<= 64)
//	48   int64    Size: sum of message sizes
//	56   uint64   HighestModSeq
//	64   uint64   Generation: +1 on every header write
//	72   uint32   FirstUnseenUID: UID of the first message without \Seen, 0 if none
//	76   uint32   Flags: bit 0 = Dirty (counters may disagree with records)
//	80   uint64   RingFloor: every flag change or append with a modseq
//	              above RingFloor is listed in the change ring
//	88   uint32   RingPos: next ring slot to write
//	92   uint32   reserved (0)
//	96   64 x 64 bytes keyword table: byte 0 = name length (1..63), then the
//	              name, zero padded. Keyword bit i of a record is table entry i.
//	              The table only grows; names are matched case-insensitively.
//	4192 128 x 16 bytes change ring: uint32 UID, uint32 reserved, uint64 modseq
//	              (modseq 0 = empty slot)
//	6240 ...      reserved (0)
//	8188 uint32   CRC32C (Castagnoli) of bytes 0..8187 of the slot
//
// # Crash-safe header updates
//
// A writer writes the new header, with Generation+1, into the slot that
// does not hold the newest valid header, so a torn write never destroys
// the last good one. A reader decodes both slots and uses the valid one
// with the higher Generation; if neither is valid the file is corrupt
// (ErrCorrupt) and the caller repairs it (reconstruct). Appends write and
// fsync the record before the header that counts it. A change to records
// in place (flags) first writes a header with the Dirty bit set and fsyncs
// it, then the records (fsync), then a clean header (fsync): a header left
// Dirty by a crash tells the next writer to recount the counters from the
// records.
//
// # Records
//
// A record (RecordSize bytes):
//
//	0   uint32  UID (> 0)
//	4   uint32  system flags: 1 \Seen, 2 \Answered, 4 \Flagged, 8 \Deleted, 16 \Draft
//	8   uint64  keyword bitmap (bit i = keyword table entry i)
//	16  int64   internal date, Unix seconds
//	24  uint64  message size in bytes
//	32  uint64  modseq of the last change
//	40  uint64  offset of the message's entry in store.cache (0 = none)
//	48  uint32  length of the cache blob
//	52  int32   internal date's zone offset, seconds east of UTC
//	56  uint32  reserved (0)
//	60  uint32  CRC32C of bytes 0..59
//
// A record whose CRC does not match, whose UID is 0 or not above the
// previous one, or whose flags use undefined bits is corrupt.
//
// # store.cache
//
// Append-only. A 16-byte file header ("MSGPXCAC", uint32 version 1,
// uint32 reserved) and then entries, each:
//
//	0   uint32  blob length n (<= MaxBlob)
//	4   uint32  UID
//	8   uint32  CRC32C of the UID's 4 bytes followed by the blob
//	12  n bytes blob (opaque here; made by the store's Summarizer)
//
// A record's cache offset points at its entry's first byte. Entries of
// expunged messages stay until a purge rewrites the file.
//
// # Mappings and the budget
//
// Readers access records through read-only shared mappings (mmap) of
// WindowSize bytes of the record area, never the whole file. Every mapped
// byte is counted in a process-wide Budget; when mapping a window would
// pass the limit, idle windows are unmapped least recently used first. A
// window being read is pinned and never unmapped. If nothing can be freed
// the read falls back to pread: running out of budget never fails a read.
// Windows are shared by all handles of one file in a process (keyed by
// device, inode and window number). When the last handle closes, the
// windows stay (the next SELECT of the folder finds them) until evicted,
// unless the file has been unlinked (replaced by an expunge), when they
// are unmapped at once. A mapping holds its inode, so while a key has
// windows no other file can reuse its inode number. Writers use pwrite;
// on Linux the page cache is shared, so mappings see the writes. A read
// that faults (a file truncated by hand under a mapping) falls back to
// pread and reports the short file as ErrCorrupt instead of crashing.
package index
