// Package mailbox is one folder on disk: its store.idx, store.cache,
// store.exp and message files, as laid out in package store's doc. The
// binary formats of store.idx and store.cache are documented in package
// index.
//
// A *Mailbox is one session's view of a folder: message sequence numbers
// are stable within the view until Sync moves it forward, as IMAP
// requires. Views in any number of processes may be open on one folder;
// writers (Append, Store, Expunge, CopyTo, Reconstruct, BulkAppend) take
// the folder's lock (flock LOCK_EX on store.lock, held only for the change
// itself) and make their change durable before returning. Sync reports
// what other views (in this or other processes) changed.
//
// # Files of a folder
//
//	store.idx    header and records (package index)
//	store.cache  summaries of messages (package index)
//	store.exp    expunged UIDs awaiting cleanup: 16-byte entries of
//	             uint32 UID, uint32 CRC32C of the other 12 bytes, int64
//	             expunge time (Unix seconds), little-endian, append-only.
//	             Cleanup may rename it to store.exp.<timestamp>; all
//	             store.exp* files are read by Reconstruct.
//	store.lock   empty; its flock serialises writers
//	NN/<uid>.msg the message, NN = UID mod 100 as two digits; immutable
//
// # Durability (STYLE.md, "durable writes one way")
//
// Append writes the message to a temp file in the folder and fsyncs it
// (before taking the lock), then under the lock renames it to
// NN/<uid>.msg; then, in parallel, fsyncs NN/, appends the cache entry
// and fdatasyncs store.cache, and writes the record past the last one and
// fdatasyncs store.idx; then it writes the header that counts the record
// and fdatasyncs again; only then is the UID returned. CopyTo does the
// same with hard links instead of the temp file. A crash before the
// header leaves a message file without a record (UID >= UIDNEXT), which
// the next Append overwrites or Reconstruct adopts. Store marks the header
// Dirty (fdatasync), rewrites the records (fdatasync) and writes a clean
// header (fdatasync); a Dirty header makes the next writer recount.
//
// # Expunge and cross-process change notices
//
// Expunge appends the UIDs to store.exp (fdatasync), then writes a whole
// new store.idx under a temp name, fsyncs it, renames it over store.idx
// and fsyncs the directory. Views keep their old open store.idx, which
// nobody writes again, so their sequence numbers stay valid. Sync(true)
// notices the new inode, walks the old and new sorted UID lists to find the
// expunged sequence numbers (reported in descending order, so each is
// valid after the previous ones), and switches to the new file. Appends
// and flag changes go into the current file in place: Sync sees new
// records through the header's Count and changed ones through the
// header's change ring (modseqs above the view's last seen one), or by a
// scan of the records when the ring has wrapped. Sync(false) reports
// nothing while an expunge is pending for the view. Wait uses inotify on
// the folder directory, with a poll every few seconds as fallback.
//
// Cleanup of expunged message files must skip UIDs still present in
// store.idx (an Expunge interrupted between store.exp and the rename).
//
// # \Recent
//
// The header's RecentUID is a watermark: messages with a higher UID are
// \Recent for the next read-write view. Open(readOnly=false) and Sync of a
// read-write view move it to UIDNEXT-1 and keep the claimed UID range as
// the view's \Recent messages. Read-only views claim nothing; they show
// every UID above the watermark they saw at Open as \Recent.
//
// # Costs
//
// Open, ReadStatus and Status are O(log n): figures come from the header,
// \Recent counts and FirstUnseen from binary searches. Writers keep
// FirstUnseenUID in the header; when the first unseen message becomes
// \Seen they scan forward to the next one.
package mailbox

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"msgplex/store/index"
)

// Summarizer computes the store.cache blob for a new message (ENVELOPE,
// BODYSTRUCTURE, ...), reading the durable message file (positioned at
// its start; ReadAt works too). The blob is
// opaque to this package; imapd decodes it.
type Summarizer func(f *os.File, size int64) ([]byte, error)

// Options are shared by all views of one process.
type Options struct {
	// Budget accounts mapped index bytes for this process (required).
	Budget *index.Budget
	// Summarize computes cache blobs at Append/Reconstruct. Nil stores none.
	Summarize Summarizer
	// Logger receives notices. Nil discards.
	Logger *slog.Logger
	// Watcher, if set, is the process's shared inotify watcher for Wait;
	// nil makes one per waiting view.
	Watcher *Watcher
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o Options) budget() *index.Budget {
	if o.Budget == nil {
		return index.NewBudget(0) // everything through pread
	}
	return o.Budget
}

// Errors callers test for with errors.Is.
var (
	ErrNotFound = errors.New("mailbox: no such folder")
	ErrExists   = errors.New("mailbox: folder exists")
	// ErrCorrupt wraps any format error: header or record checksum,
	// impossible values. The caller queues a Repair. It is
	// index.ErrCorrupt, so either matches.
	ErrCorrupt       = index.ErrCorrupt
	ErrNoSuchMessage = errors.New("mailbox: no such message")
	// ErrReadOnly: Store or Expunge on a read-only (EXAMINE) view.
	ErrReadOnly = errors.New("mailbox: read-only view")
	// ErrBadFlag: a flag that is neither a system flag nor a valid keyword.
	ErrBadFlag = errors.New("mailbox: invalid flag")
	// ErrTooManyKeywords: the folder's keyword table is full.
	ErrTooManyKeywords = errors.New("mailbox: too many keywords in folder")
	// ErrFull: no UID left (UIDNEXT would pass 2^32-1); reconstruct with
	// a new UIDVALIDITY.
	ErrFull = errors.New("mailbox: UIDs exhausted")
)

// File names in a folder.
const (
	idxName   = "store.idx"
	cacheName = "store.cache"
	expName   = "store.exp"
	lockName  = "store.lock"
)

// MessagePath is the path of a message file in a folder: NN/<uid>.msg.
func MessagePath(dir string, uid uint32) string {
	return filepath.Join(dir, subdir(uid), strconv.FormatUint(uint64(uid), 10)+".msg")
}

func subdir(uid uint32) string {
	n := uid % 100
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

// Status is a folder's figures, read from the index header; Recent and
// FirstUnseen take a binary search of the records each (O(log n)).
type Status struct {
	Messages      uint32
	Recent        uint32 // in this view (from ReadStatus: UIDs above the watermark)
	Unseen        uint32
	Deleted       uint32
	UIDNext       uint32
	UIDValidity   uint32
	Size          int64 // sum of message sizes
	HighestModSeq uint64
	// FirstUnseen is the sequence number of the first message without
	// \Seen, 0 if none or unknown.
	FirstUnseen uint32
}

// Message is one index record as seen by a view.
type Message struct {
	Seq          uint32
	UID          uint32
	Flags        []string // IMAP flags with canonical case: \Seen, \Answered, \Flagged, \Deleted, \Draft, keywords
	Recent       bool     // \Recent for this view
	InternalDate time.Time
	Size         int64
	ModSeq       uint64
}

// StoreOp says how Store changes flags.
type StoreOp int

const (
	FlagsSet StoreOp = iota
	FlagsAdd
	FlagsRemove
)

// Changes is what Sync found since the view's last Sync.
type Changes struct {
	// Expunged are sequence numbers to report as EXPUNGE, in the order to
	// send them (each relative to the view after the previous ones).
	Expunged []uint32
	// Messages is the new message count (EXISTS) if messages were added,
	// else 0.
	Messages uint32
	// Flags are messages whose flags changed (report FETCH FLAGS),
	// including changes made through this view. Messages new in this
	// Sync are not listed (the client fetches them).
	Flags []Message
}

// CopyResult is the UIDPLUS answer of a copy.
type CopyResult struct {
	UIDValidity uint32
	SrcUIDs     []uint32
	DstUIDs     []uint32
}
