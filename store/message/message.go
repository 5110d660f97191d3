// Package message computes, once at APPEND, what imapd needs to answer
// FETCH without reading whole messages: the ENVELOPE, the extended
// BODYSTRUCTURE and the byte offsets of every MIME part's header and body
// in the message file. The result is a Summary, stored as an opaque blob
// in the folder's store.cache (see mailbox.Summarizer) and decoded by
// imapd with Decode.
//
// # Offsets
//
// Every Part records three offsets into the message file:
//
//	HeaderStart  first byte of the part's header (MIME header for a body part)
//	BodyStart    first byte after the blank line ending the header
//	End          one past the last byte of the body (the line break before a
//	             multipart delimiter belongs to the delimiter, RFC 2046 §5.1.1)
//
// BODY[], BODY[TEXT], BODY[n], BODY[n.MIME], BODY[n.HEADER] and partial
// fetches are then io.SectionReaders over the file (see Section). Only
// HEADER.FIELDS reads a header into memory, bounded by MaxHeader.
//
// # Blob format (version 1)
//
//	"MPS1"                       magic and version
//	envelope                     see writeEnvelope
//	part                         the root part, recursively (see writePart)
//	crc32 (IEEE, little endian)  of every byte before it
//
// Integers are Go varints/uvarints, strings a uvarint length then bytes.
// Decode rejects a wrong magic, a bad checksum, truncation, lengths past
// the end, nesting deeper than MaxDepth and more than MaxParts parts with
// an error wrapping ErrCorrupt; it never panics (FuzzDecode).
//
// Envelope addresses are parsed one by one (go-message's address parser),
// so one bad address does not lose the list; RFC 5322 groups are kept as
// IMAP group markers; an address without a domain gets the host
// "MISSING_DOMAIN" (as Dovecot does), one without a local part the
// mailbox "MISSING_MAILBOX".
package message

import (
	"errors"
	"fmt"
	"os"

	"github.com/emersion/go-imap/v2"
)

// Limits on what Summarize records and Decode accepts.
const (
	MaxDepth  = 32      // nesting of multiparts and message/rfc822
	MaxParts  = 10000   // parts in one message
	MaxHeader = 1 << 20 // header bytes parsed (longer headers are truncated for parsing)
)

// ErrCorrupt is wrapped by every Decode error.
var ErrCorrupt = errors.New("message: corrupt summary")

// Summary is what FETCH needs about one message besides its file.
type Summary struct {
	Size     int64
	Envelope *imap.Envelope
	Root     *Part
}

// Part is one MIME entity. The root part is the message itself.
type Part struct {
	HeaderStart, BodyStart, End int64

	Type, Subtype string            // lower case, "text", "plain"
	Params        map[string]string // Content-Type parameters
	ID            string
	Description   string
	Encoding      string // Content-Transfer-Encoding, lower case, "7bit" if absent
	Disposition   string // lower case, "" if absent
	DispParams    map[string]string
	Language      []string
	Location      string
	Lines         int64 // body lines, for text/* and message/rfc822

	Children []*Part // multipart/*: at least one
	// Message is the embedded message of a message/rfc822 part; its
	// HeaderStart is this part's BodyStart.
	Message  *Part
	Envelope *imap.Envelope // of Message
}

// IsMultipart says whether the part has children.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// IsMessage says whether the part is an embedded message.
func (p *Part) IsMessage() bool { return p.Message != nil }

// Summarize reads the message file f of size bytes and returns its
// encoded Summary. It is a mailbox.Summarizer.
func Summarize(f *os.File, size int64) ([]byte, error) {
	s, err := Parse(f, size)
	if err != nil {
		return nil, err
	}
	return s.Encode(), nil
}

// Parse computes the Summary of the size bytes readable from r.
func Parse(r readerAt, size int64) (*Summary, error) {
	p := &parser{r: r, size: size}
	root, err := p.entity(0, size, "", 0)
	if err != nil {
		return nil, fmt.Errorf("summarize message: %w", err)
	}
	env, err := p.envelopeAt(root)
	if err != nil {
		return nil, fmt.Errorf("summarize message: %w", err)
	}
	return &Summary{Size: size, Envelope: env, Root: root}, nil
}
