package imapd

import (
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// listEntry is one name LIST may answer with.
type listEntry struct {
	name       string
	exists     bool
	subscribed bool
	specialUse string
	children   bool // has existing children
	subChild   bool // has subscribed children
}

// List implements LIST and LSUB (RFC 3501 §6.3.8-9, RFC 5258
// LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE): answers
// carry \HasChildren/\HasNoChildren, special-use attributes, \Subscribed
// when asked, \NonExistent for subscribed names without a folder, and
// \Noselect for hierarchy levels that exist only through their children.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	if len(patterns) == 1 && patterns[0] == "" {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/', Mailbox: ""})
	}
	entries, err := s.listEntries()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !matchAny(e.name, ref, patterns) {
			continue
		}
		if o.SelectSubscribed && !e.subscribed && !(o.SelectRecursiveMatch && e.subChild) && !(e.subChild && !e.exists) {
			continue
		}
		if !o.SelectSubscribed && !e.exists && !e.children {
			continue
		}
		if o.SelectSpecialUse && e.specialUse == "" {
			continue
		}
		if !o.SelectSubscribed && !e.exists && !wildcardLevel(e.name, ref, patterns) {
			continue
		}
		if err := w.WriteList(s.listData(e, o)); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) listData(e listEntry, o *imap.ListOptions) *imap.ListData {
	d := &imap.ListData{Delim: '/', Mailbox: e.name}
	switch {
	case !e.exists && o.SelectSubscribed && e.subscribed:
		d.Attrs = append(d.Attrs, imap.MailboxAttrNonExistent)
	case !e.exists:
		d.Attrs = append(d.Attrs, imap.MailboxAttrNoSelect)
	}
	if e.children {
		d.Attrs = append(d.Attrs, imap.MailboxAttrHasChildren)
	} else if e.exists {
		d.Attrs = append(d.Attrs, imap.MailboxAttrHasNoChildren)
	}
	if e.specialUse != "" {
		d.Attrs = append(d.Attrs, imap.MailboxAttr(e.specialUse))
	}
	if e.subscribed && (o.SelectSubscribed || o.ReturnSubscribed) {
		d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
	}
	if o.SelectRecursiveMatch && e.subChild && !e.subscribed {
		d.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
	}
	if o.ReturnStatus != nil && e.exists {
		if st, err := s.status(e.name, o.ReturnStatus); err == nil {
			d.Status = st
		}
	}
	return d
}

// listEntries builds the folder tree with implied parents.
func (s *session) listEntries() ([]listEntry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	folders, err := s.srv.opts.Backend.Folders(ctx, s.user)
	if err != nil {
		return nil, s.fail("list", "", err)
	}
	subs, err := s.srv.opts.Backend.Subscriptions(ctx, s.user)
	if err != nil {
		return nil, s.fail("list subscriptions", "", err)
	}
	m := map[string]*listEntry{}
	get := func(name string) *listEntry {
		if m[name] == nil {
			m[name] = &listEntry{name: name}
		}
		return m[name]
	}
	mark := func(name string, f func(parent *listEntry)) {
		for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
			f(get(name[:i]))
		}
	}
	for _, f := range folders {
		e := get(f.Name)
		e.exists, e.specialUse = true, f.SpecialUse
		if f.Subscribed {
			e.subscribed = true
		}
		mark(f.Name, func(p *listEntry) { p.children = true })
	}
	for _, name := range subs {
		get(name).subscribed = true
		mark(name, func(p *listEntry) { p.subChild = true })
	}
	out := make([]listEntry, 0, len(m))
	for _, e := range m {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		r, p := inboxCase(name, ref, p)
		if imapserver.MatchList(name, '/', r, p) {
			return true
		}
	}
	return false
}

// inboxCase makes a leading "inbox" of the reference, or of the pattern
// when the reference is empty, match INBOX and the folders below it in
// any case (RFC 3501 §5.1: INBOX is case-insensitive), so that
// `LIST "" inbox*` or `LIST "inbox/" %` find them as Dovecot does.
func inboxCase(name, ref, pattern string) (string, string) {
	if name != "INBOX" && !strings.HasPrefix(name, "INBOX/") {
		return ref, pattern
	}
	fix := func(s string) string {
		if len(s) >= 5 && strings.EqualFold(s[:5], "inbox") && (len(s) == 5 || strings.ContainsRune("/*%", rune(s[5]))) {
			return "INBOX" + s[5:]
		}
		return s
	}
	if ref != "" {
		return fix(ref), pattern
	}
	return ref, fix(pattern)
}

// wildcardLevel says whether a non-existent parent should be listed: only
// when a pattern's "%" stops at its level (RFC 3501 §6.3.8: "foo/%" must
// not hide "foo/bar/baz" behind a missing "foo/bar").
func wildcardLevel(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if strings.HasSuffix(ref+p, "%") {
			return true
		}
	}
	return false
}
