package imapd

import (
	"crypto/subtle"
	"strings"

	"github.com/emersion/go-imap/v2"
)

func equalConst(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

var systemFlags = map[string]imap.Flag{
	`\seen`: imap.FlagSeen, `\answered`: imap.FlagAnswered, `\flagged`: imap.FlagFlagged,
	`\deleted`: imap.FlagDeleted, `\draft`: imap.FlagDraft,
}

// canonFlags gives system flags their canonical case and drops \Recent
// (which clients may not set) and duplicates.
func canonFlags(in []imap.Flag) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range in {
		s := string(f)
		if c, ok := systemFlags[strings.ToLower(s)]; ok {
			s = string(c)
		} else if strings.EqualFold(s, `\recent`) || s == "" {
			continue
		}
		if !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	return out
}

func toFlags(l []string, recent bool) []imap.Flag {
	return appendFlags(make([]imap.Flag, 0, len(l)+1), l, recent)
}

// appendFlags is toFlags appending to out (a reused buffer).
func appendFlags(out []imap.Flag, l []string, recent bool) []imap.Flag {
	for _, f := range l {
		out = append(out, imap.Flag(f))
	}
	if recent {
		out = append(out, `\Recent`)
	}
	return out
}

func hasFlag(l []string, f string) bool {
	for _, x := range l {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}
