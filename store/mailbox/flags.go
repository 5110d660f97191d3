package mailbox

import (
	"fmt"
	"strings"

	"msgplex/store/index"
)

var systemFlags = []struct {
	name string
	bit  uint32
}{
	{`\Seen`, index.FlagSeen},
	{`\Answered`, index.FlagAnswered},
	{`\Flagged`, index.FlagFlagged},
	{`\Deleted`, index.FlagDeleted},
	{`\Draft`, index.FlagDraft},
}

// parsedFlags are IMAP flags split into system bits and keywords.
type parsedFlags struct {
	sys uint32
	kws []string
}

// parseFlags accepts system flags in any case and valid keywords;
// \Recent is ignored (it cannot be stored).
func parseFlags(flags []string) (parsedFlags, error) {
	var p parsedFlags
next:
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			for _, s := range systemFlags {
				if strings.EqualFold(f, s.name) {
					p.sys |= s.bit
					continue next
				}
			}
			if strings.EqualFold(f, `\Recent`) {
				continue
			}
			return p, fmt.Errorf("%w: %q", ErrBadFlag, f)
		}
		if !index.ValidKeyword(f) {
			return p, fmt.Errorf("%w: %q", ErrBadFlag, f)
		}
		p.kws = append(p.kws, f)
	}
	return p, nil
}

// keywordBits maps keywords to bits of h's table, adding new names when
// add is true (first spelling kept); unknown names are skipped otherwise.
func keywordBits(h *index.Header, kws []string, add bool) (uint64, error) {
	var bits uint64
	for _, kw := range kws {
		i := h.KeywordIndex(kw)
		if i < 0 && add {
			if len(h.Keywords) >= index.MaxKeywords {
				return 0, fmt.Errorf("%w: %q", ErrTooManyKeywords, kw)
			}
			h.Keywords = append(h.Keywords, kw)
			i = len(h.Keywords) - 1
		}
		if i >= 0 {
			bits |= 1 << uint(i)
		}
	}
	return bits, nil
}

// flagNames renders a record's flags; ok is false when a keyword bit has
// no name in keywords (the caller refreshes its table).
func flagNames(r index.Record, keywords []string) ([]string, bool) {
	return appendFlagNames(make([]string, 0, 4), r, keywords)
}

// appendFlagNames is flagNames appending to out (a reused buffer).
func appendFlagNames(out []string, r index.Record, keywords []string) ([]string, bool) {
	for _, s := range systemFlags {
		if r.Flags&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	for i := 0; i < 64 && r.Keywords>>uint(i) != 0; i++ {
		if r.Keywords&(1<<uint(i)) == 0 {
			continue
		}
		if i >= len(keywords) {
			return nil, false
		}
		out = append(out, keywords[i])
	}
	return out, true
}
