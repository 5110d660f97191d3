// Package mailbox is one folder on disk: its store.idx, store.cache,
// store.exp and message files, as laid out in package store's doc.
//
// CONTRACT (written before the implementation; the implementer may add to
// it but changes a signature only with a strong reason, updating callers):
//
// A *Mailbox is one session's view of a folder: message sequence numbers
// are stable within the view until Sync moves it forward, as IMAP
// requires. Views in any number of processes may be open on one folder;
// writers (Append, Store, Expunge, Copy) take the folder's lock
// (flock on store.lock) and make their change durable before returning.
// Sync reports what other views (in this or other processes) changed.
package mailbox

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"msgplex/store/index"
)

// Summarizer computes the store.cache blob for a new message (ENVELOPE,
// BODYSTRUCTURE, ...), reading the durable message file. The blob is
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
}

// Errors callers test for with errors.Is.
var (
	ErrNotFound = errors.New("mailbox: no such folder")
	ErrExists   = errors.New("mailbox: folder exists")
	// ErrCorrupt wraps any format error: header or record checksum,
	// impossible values. The caller queues a Repair.
	ErrCorrupt       = errors.New("mailbox: invalid format")
	ErrNoSuchMessage = errors.New("mailbox: no such message")
)

// Status is a folder's figures, read from the index header in O(1).
type Status struct {
	Messages      uint32
	Recent        uint32 // in this view (0 from ReadStatus)
	Unseen        uint32
	Deleted       uint32
	UIDNext       uint32
	UIDValidity   uint32
	Size          int64 // sum of message sizes
	HighestModSeq uint64
	// FirstUnseen is the sequence number of the first message without
	// \Seen, 0 if none or unknown (may be computed lazily).
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
	// Messages is the new message count (EXISTS) if it changed, else 0.
	Messages uint32
	// Flags are messages whose flags changed (report FETCH FLAGS).
	Flags []Message
}

// Create makes an empty folder directory with the given UIDVALIDITY.
func Create(dir string, uidValidity uint32) error { return errors.New("TODO") }

// ReadStatus reads a folder's header without opening a view (STATUS).
func ReadStatus(dir string, opts Options) (Status, error) { return Status{}, errors.New("TODO") }

// Open opens a view of the folder at dir. readOnly views (EXAMINE) never
// change \Recent state or flags.
func Open(dir string, readOnly bool, opts Options) (*Mailbox, error) {
	return nil, errors.New("TODO")
}

// Mailbox is one view; not safe for concurrent use by several goroutines
// except Wait.
type Mailbox struct{}

// Close releases mappings and files.
func (m *Mailbox) Close() error { return nil }

// Dir is the folder's directory.
func (m *Mailbox) Dir() string { return "" }

// Status of this view.
func (m *Mailbox) Status() Status { return Status{} }

// Count is the number of messages in this view.
func (m *Mailbox) Count() uint32 { return 0 }

// Message returns the record at sequence number seq (1-based) in this view.
func (m *Mailbox) Message(seq uint32) (Message, error) { return Message{}, ErrNoSuchMessage }

// SeqOf finds a UID in this view (binary search).
func (m *Mailbox) SeqOf(uid uint32) (seq uint32, ok bool) { return 0, false }

// Cache returns msg's store.cache blob (as made by the Summarizer).
func (m *Mailbox) Cache(msg Message) ([]byte, error) { return nil, errors.New("TODO") }

// OpenMessage opens the message file of uid for reading (BODY[], partial).
func (m *Mailbox) OpenMessage(uid uint32) (*os.File, error) { return nil, errors.New("TODO") }

// Append stores a message durably (file fsynced with its directory, cache
// and index records fsynced) and returns its UID. The view does not see
// it until Sync.
func (m *Mailbox) Append(r io.Reader, flags []string, date time.Time) (uid uint32, err error) {
	return 0, errors.New("TODO")
}

// Store changes the flags of the given UIDs durably and bumps their modseq.
func (m *Mailbox) Store(uids []uint32, op StoreOp, flags []string) error { return errors.New("TODO") }

// Expunge removes the given UIDs (nil: every message with \Deleted) from
// the index durably and records them in store.exp; message and cache files
// stay until cleanup. Returns the UIDs removed. The view reports them at
// its next Sync.
func (m *Mailbox) Expunge(uids []uint32) ([]uint32, error) { return nil, errors.New("TODO") }

// CopyResult is the UIDPLUS answer of a copy.
type CopyResult struct {
	UIDValidity uint32
	SrcUIDs     []uint32
	DstUIDs     []uint32
}

// CopyTo copies uids to the folder at dstDir durably (hard links where
// possible), keeping flags and internal dates. dstDir may be this folder.
func (m *Mailbox) CopyTo(dstDir string, uids []uint32) (CopyResult, error) {
	return CopyResult{}, errors.New("TODO")
}

// Sync brings the view up to date. With allowExpunge false it reports no
// expunges (and may hold back other changes that depend on them).
func (m *Mailbox) Sync(allowExpunge bool) (Changes, error) { return Changes{}, errors.New("TODO") }

// Wait returns when the folder may have changed (another writer), when
// stop is closed, or after at most a few seconds; callers then Sync.
func (m *Mailbox) Wait(stop <-chan struct{}) {}
