package sessionlog

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind names an event; it is the "event" field of JSON lines.
type Kind string

// The events of a session, in the order they usually happen.
const (
	Start    Kind = "start"    // session start, client IP …, server IP …
	Refused  Kind = "refused"  // connection refused before IMAP (limits)
	Login    Kind = "login"    // login user …, mailhost …
	Failed   Kind = "failed"   // login refused (bad password, status, backend down)
	Closed   Kind = "closed"   // "client/server socket closed by peer" (first EOF), or why the proxy ended it
	IOError  Kind = "ioerror"  // client|server socket IO error N (text)
	Transfer Kind = "transfer" // N C->S bytes, M S->C bytes in S seconds
	End      Kind = "end"      // session end
)

// Event is one session log event. Only the fields of its Kind are set.
type Event struct {
	Kind     Kind   `json:"event"`
	Client   string `json:"client,omitempty"`   // Start, Refused
	Server   string `json:"server,omitempty"`   // Start
	User     string `json:"user,omitempty"`     // Login, Failed
	MailHost string `json:"mailhost,omitempty"` // Login, Failed (backend)
	Code     string `json:"code,omitempty"`     // Failed: the IMAP response code
	Reason   string `json:"reason,omitempty"`   // Refused, Failed, Closed
	Side     string `json:"side,omitempty"`     // IOError, Closed: "client" or "server"
	Errno    int    `json:"errno,omitempty"`    // IOError
	ErrText  string `json:"errtext,omitempty"`  // IOError
	C2S      int64  `json:"-"`                  // Transfer (JSON: c2s)
	S2C      int64  `json:"-"`                  // Transfer (JSON: s2c)
	Seconds  int64  `json:"-"`                  // Transfer (JSON: seconds)
}

// Text is the text-format message (what follows "(sid …) ").
func (e Event) Text() string {
	switch e.Kind {
	case Start:
		return fmt.Sprintf("session start, client IP %s, server IP %s", e.Client, e.Server)
	case Refused:
		return fmt.Sprintf("connection refused, client IP %s: %s", e.Client, e.Reason)
	case Login:
		return fmt.Sprintf("login user %s, mailhost %s", Clean(e.User), e.MailHost)
	case Failed:
		s := fmt.Sprintf("login failed user %s [%s]: %s", Clean(e.User), e.Code, e.Reason)
		if e.MailHost != "" {
			s += ", mailhost " + e.MailHost
		}
		return s
	case Closed:
		return e.Reason
	case IOError:
		return fmt.Sprintf("%s socket IO error %d (%s)", e.Side, e.Errno, e.ErrText)
	case Transfer:
		return fmt.Sprintf("%d C->S bytes, %d S->C bytes in %d seconds", e.C2S, e.S2C, e.Seconds)
	case End:
		return "session end"
	}
	return string(e.Kind) + " " + e.Reason
}

// Clean makes a client-supplied string safe for one log line: invalid
// UTF-8, control characters and spaces are escaped, and it is cut at 64
// bytes, so a hostile user name can neither forge lines nor flood them.
func Clean(s string) string {
	const max = 64
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= max {
			b.WriteString("...")
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r < 0x20 || r == 0x7f || r == ' ' || r == '\\':
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	if b.Len() == 0 {
		return `""`
	}
	return b.String()
}
