package imapd

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"msgplex/store/mailbox"
	"msgplex/store/message"
)

// Search implements SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH
// and SEARCHRES return options. FROM/TO/CC/BCC match the parsed
// addresses of the cached envelope (name, mailbox@host); SUBJECT the
// decoded subject; other header keys the raw field values; BODY and TEXT
// stream the message file (case-insensitive for ASCII, no charset
// decoding).
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	var seqs, uids []uint32
	count := s.sel.Count()
	var lastUID uint32
	if count > 0 {
		var err error
		if lastUID, err = s.uidAt(count); err != nil {
			return nil, err
		}
	}
	if count > 0 {
		err := s.forRange(seqRange{1, count}, func(m mailbox.Message) error {
			c := &candidate{s: s, m: m, count: count, lastUID: lastUID}
			ok, err := c.match(criteria)
			c.close()
			if ok && err == nil {
				seqs, uids = append(seqs, m.Seq), append(uids, m.UID)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if options.ReturnSave {
		s.searchRes = uids
	}
	d := &imap.SearchData{Count: uint32(len(seqs))}
	nums := seqs
	if kind == imapserver.NumKindUID {
		nums = uids
		set := imap.UIDSet{}
		for _, u := range uids {
			set.AddNum(imap.UID(u))
		}
		d.All = set
	} else {
		set := imap.SeqSet{}
		set.AddNum(seqs...)
		d.All = set
	}
	if len(nums) > 0 {
		d.Min, d.Max = nums[0], nums[len(nums)-1]
	}
	return d, nil
}

// candidate is one message being matched; its summary and file are
// loaded on first use.
type candidate struct {
	s              *session
	m              mailbox.Message
	count, lastUID uint32
	sum            *message.Summary
	f              *os.File
}

func (c *candidate) close() {
	if c.f != nil {
		c.f.Close()
	}
}

func (c *candidate) summary() (*message.Summary, error) {
	if c.sum == nil {
		sum, err := c.s.summary(c.m)
		if err != nil {
			return nil, err
		}
		c.sum = sum
	}
	return c.sum, nil
}

func (c *candidate) file() (*os.File, error) {
	if c.f == nil {
		f, err := c.s.sel.OpenMessage(c.m.UID)
		if err != nil {
			return nil, c.s.fail("open message", c.s.selName, err)
		}
		c.f = f
	}
	return c.f, nil
}

func (c *candidate) match(cr *imap.SearchCriteria) (bool, error) {
	m := c.m
	for _, set := range cr.SeqNum {
		if !inSet(m.Seq, set, c.count) {
			return false, nil
		}
	}
	for _, set := range cr.UID {
		if !inUIDSet(m.UID, set, c.lastUID) {
			return false, nil
		}
	}
	if !dateOK(m.InternalDate, cr.Since, cr.Before) {
		return false, nil
	}
	if cr.Larger > 0 && m.Size <= cr.Larger || cr.Smaller > 0 && m.Size >= cr.Smaller {
		return false, nil
	}
	for _, f := range cr.Flag {
		if !c.hasFlag(f) {
			return false, nil
		}
	}
	for _, f := range cr.NotFlag {
		if c.hasFlag(f) {
			return false, nil
		}
	}
	if ok, err := c.matchContent(cr); !ok || err != nil {
		return false, err
	}
	for i := range cr.Not {
		ok, err := c.match(&cr.Not[i])
		if ok || err != nil {
			return false, err
		}
	}
	for _, or := range cr.Or {
		a, err := c.match(&or[0])
		if err != nil {
			return false, err
		}
		if !a {
			if b, err := c.match(&or[1]); !b || err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

func (c *candidate) hasFlag(f imap.Flag) bool {
	if strings.EqualFold(string(f), `\Recent`) {
		return c.m.Recent
	}
	return hasFlag(c.m.Flags, string(f))
}

func inSet(seq uint32, set imap.SeqSet, max uint32) bool {
	for _, r := range set {
		lo, hi := staticRange(r.Start, r.Stop, max)
		if seq >= lo && seq <= hi {
			return true
		}
	}
	return false
}

func inUIDSet(uid uint32, set imap.UIDSet, max uint32) bool {
	for _, r := range set {
		lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), max)
		if uid >= lo && uid <= hi {
			return true
		}
	}
	return false
}

// dateOK compares dates only, disregarding time and zone (RFC 3501).
func dateOK(t, since, before time.Time) bool {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	if !since.IsZero() && day(t).Before(day(since)) {
		return false
	}
	if !before.IsZero() && !day(t).Before(day(before)) {
		return false
	}
	return true
}

func (c *candidate) matchContent(cr *imap.SearchCriteria) (bool, error) {
	if cr.SentSince.IsZero() && cr.SentBefore.IsZero() && len(cr.Header) == 0 && len(cr.Body) == 0 && len(cr.Text) == 0 {
		return true, nil
	}
	sum, err := c.summary()
	if err != nil {
		return false, err
	}
	if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		if sum.Envelope == nil || sum.Envelope.Date.IsZero() || !dateOK(sum.Envelope.Date, cr.SentSince, cr.SentBefore) {
			return false, nil
		}
	}
	for _, h := range cr.Header {
		ok, err := c.matchHeader(sum, h.Key, h.Value)
		if !ok || err != nil {
			return false, err
		}
	}
	for _, b := range cr.Body {
		ok, err := c.contains(sum.Root.BodyStart, sum.Root.End, b)
		if !ok || err != nil {
			return false, err
		}
	}
	for _, t := range cr.Text {
		ok, err := c.contains(0, sum.Size, t)
		if !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

func (c *candidate) matchHeader(sum *message.Summary, key, value string) (bool, error) {
	env := sum.Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	switch strings.ToLower(key) {
	case "from":
		return addrMatch(env.From, value), nil
	case "to":
		return addrMatch(env.To, value), nil
	case "cc":
		return addrMatch(env.Cc, value), nil
	case "bcc":
		return addrMatch(env.Bcc, value), nil
	case "subject":
		return containsFold(env.Subject, value), nil
	}
	f, err := c.file()
	if err != nil {
		return false, err
	}
	sr, err := sum.Section(f, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{key}})
	if err != nil {
		return false, c.s.fail("search header", c.s.selName, err)
	}
	b, err := io.ReadAll(sr)
	if err != nil {
		return false, c.s.fail("search header", c.s.selName, err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if name, v, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(strings.TrimSpace(string(name)), key) {
			if containsFold(string(v), value) {
				return true, nil
			}
		}
	}
	return len(bytes.TrimSpace(b)) > 0 && value == "", nil
}

// addrMatch matches a SEARCH FROM/TO/... string against parsed addresses.
func addrMatch(l []imap.Address, value string) bool {
	for _, a := range l {
		if a.IsGroupStart() || a.IsGroupEnd() {
			continue
		}
		if containsFold(a.Name, value) || containsFold(a.Mailbox+"@"+a.Host, value) {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// contains streams [from, to) of the file looking for needle.
func (c *candidate) contains(from, to int64, needle string) (bool, error) {
	if needle == "" {
		return true, nil
	}
	f, err := c.file()
	if err != nil {
		return false, err
	}
	n := []byte(strings.ToLower(needle))
	r := io.NewSectionReader(f, from, to-from)
	buf := make([]byte, 64<<10+len(n))
	keep := 0
	for {
		k, err := r.Read(buf[keep:])
		if k > 0 {
			chunk := bytes.ToLower(buf[:keep+k])
			if bytes.Contains(chunk, n) {
				return true, nil
			}
			total := keep + k
			keep = min(len(n)-1, total)
			copy(buf, buf[total-keep:total])
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, c.s.fail("search body", c.s.selName, err)
		}
	}
}
