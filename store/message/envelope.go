package message

import (
	"mime"
	"strings"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Placeholders for address parts a header lacks (RFC 3501 needs both).
const (
	MissingDomain  = "MISSING_DOMAIN"
	MissingMailbox = "MISSING_MAILBOX"
)

var wordDecoder = &mime.WordDecoder{CharsetReader: gomessage.CharsetReader}

// Envelope builds the IMAP ENVELOPE of a message header (RFC 3501 §7.4.2).
func Envelope(h textproto.Header) *imap.Envelope {
	mh := mail.Header{Header: gomessage.Header{Header: h}}
	env := &imap.Envelope{
		From:    AddressList(h.Get("From")),
		Sender:  AddressList(h.Get("Sender")),
		ReplyTo: AddressList(h.Get("Reply-To")),
		To:      AddressList(h.Get("To")),
		Cc:      AddressList(h.Get("Cc")),
		Bcc:     AddressList(h.Get("Bcc")),
	}
	env.Date, _ = mh.Date()
	if s, err := mh.Subject(); err == nil {
		env.Subject = s
	} else {
		env.Subject = h.Get("Subject")
	}
	if id, err := mh.MessageID(); err == nil && id != "" {
		env.MessageID = id
	} else {
		env.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	env.InReplyTo, _ = mh.MsgIDList("In-Reply-To")
	return env
}

// AddressList parses an address header value leniently: each address on
// its own, groups kept as IMAP group markers (start: Mailbox = group name,
// Host ""; end: both empty).
func AddressList(v string) []imap.Address {
	var out []imap.Address
	for _, it := range splitAddressList(v) {
		if it.groupStart {
			out = append(out, imap.Address{Mailbox: decodeWords(unquote(it.text))})
			continue
		}
		if it.groupEnd {
			out = append(out, imap.Address{})
			continue
		}
		out = append(out, parseAddress(it.text))
	}
	return out
}

type listItem struct {
	text                 string
	groupStart, groupEnd bool
}

// splitAddressList cuts a header value at top-level commas, group colons
// and semicolons, honouring quotes, comments and angle brackets.
func splitAddressList(v string) []listItem {
	var (
		items          []listItem
		cur            strings.Builder
		quoted, escape bool
		comment        int
		angle          bool
		inGroup        bool
	)
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			items = append(items, listItem{text: s})
		}
		cur.Reset()
	}
	for _, r := range v {
		switch {
		case escape:
			escape = false
		case r == '\\' && (quoted || comment > 0):
			escape = true
		case quoted:
			quoted = r != '"'
		case r == '"' && comment == 0:
			quoted = true
		case r == '(':
			comment++
		case r == ')' && comment > 0:
			comment--
		case comment > 0:
		case r == '<':
			angle = true
		case r == '>':
			angle = false
		case angle:
		case r == ',':
			flush()
			continue
		case r == ':' && !inGroup:
			items = append(items, listItem{text: strings.TrimSpace(cur.String()), groupStart: true})
			cur.Reset()
			inGroup = true
			continue
		case r == ';' && inGroup:
			flush()
			items = append(items, listItem{groupEnd: true})
			inGroup = false
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	if inGroup {
		items = append(items, listItem{groupEnd: true})
	}
	return items
}

// parseAddress parses one address, falling back to a best effort when
// go-message's parser refuses it.
func parseAddress(s string) imap.Address {
	name, addr := "", ""
	if a, err := mail.ParseAddress(s); err == nil {
		name, addr = a.Name, a.Address
	} else if i := strings.LastIndexByte(s, '<'); i >= 0 {
		name = decodeWords(unquote(strings.TrimSpace(s[:i])))
		addr = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s[i+1:]), ">"))
	} else {
		addr = stripComments(s)
	}
	local, host := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, host = addr[:i], addr[i+1:]
	}
	local = strings.TrimSpace(local)
	if local == "" {
		local = MissingMailbox
	}
	if host = strings.TrimSpace(host); host == "" {
		host = MissingDomain
	}
	return imap.Address{Name: name, Mailbox: local, Host: host}
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return s
}

func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
