package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2/imapserver"

	"msgplex/config"
	"msgplex/store"
	"msgplex/store/index"
	"msgplex/store/mailbox"
	"msgplex/store/message"
)

func init() {
	register("mboxutil", "create, delete, rename, list mailboxes; move messages between them", func(args []string) int {
		return mboxutil(args, os.Stdout, os.Stderr)
	})
}

const mboxutilUsage = `usage: msgplex mboxutil [--config FILE] ACTION

Mailbox names are user/<uid> (the user's INBOX) and user/<uid>/<folder>.

actions:
  -c MAILBOX            create (user/<uid> creates the user: INBOX and the
                        special-use folders); the owner is subscribed to it
  -d MAILBOX            delete a folder (user/<uid>: the user and all folders)
  -r OLD NEW            rename a folder and the folders below it
  -l [-x] [-p PATTERN]  list mailboxes matching PATTERN (default *; IMAP
                        wildcards: * any characters, % any but "/"); -x adds
                        message count and size in bytes
  -m SRC DST [-u UIDS]  move messages (all, or the UID set UIDS, e.g. 1:5,9)
                        from SRC to DST of the same user, safely: copied
                        durably first, then expunged from SRC

Works while the store runs and against a stopped store.
`

// openStore opens the store a config file describes, for an admin tool.
func openStore(cfgPath string, stderr io.Writer) (*store.Store, bool) {
	c, ok := loadConfig(cfgPath)
	if !ok {
		return nil, false
	}
	s, err := store.Open(storeOptions(c))
	if err != nil {
		fmt.Fprintf(stderr, "msgplex: %v\n", err)
		return nil, false
	}
	return s, true
}

// storeOptions are an admin tool's store options: quiet (warnings only),
// and the same message summaries imapd computes, so messages a tool adds
// (reconstruct, move) have ENVELOPE and BODYSTRUCTURE in the cache.
func storeOptions(c config.Config) store.Options {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return store.Options{
		DataRoot:  c.Store.DataRoot,
		Budget:    index.NewBudget(int64(c.Service.IMAP.VMBudget)),
		Summarize: message.Summarize,
		Logger:    log,
	}
}

// mboxName is a classic mailbox name split: user/<uid>[/<folder>].
type mboxName struct {
	user, folder string // folder is canonical; INBOX for user/<uid>
}

func (n mboxName) String() string { return classicName(n.user, n.folder) }

// classicName is the admin-facing name of a user's folder.
func classicName(uid, folder string) string {
	if folder == store.Inbox {
		return "user/" + uid
	}
	return "user/" + uid + "/" + folder
}

// parseMailbox parses user/<uid> or user/<uid>/<folder>.
func parseMailbox(s string) (mboxName, error) {
	rest, ok := strings.CutPrefix(s, "user/")
	if !ok {
		return mboxName{}, fmt.Errorf("mailbox %q: names are user/<uid> or user/<uid>/<folder>", s)
	}
	uid, folder, hasFolder := strings.Cut(rest, "/")
	if err := store.ValidateUser(uid); err != nil {
		return mboxName{}, fmt.Errorf("mailbox %q: %w", s, err)
	}
	if !hasFolder {
		return mboxName{user: uid, folder: store.Inbox}, nil
	}
	c, err := store.ValidateName(folder)
	if err != nil {
		return mboxName{}, fmt.Errorf("mailbox %q: %w", s, err)
	}
	return mboxName{user: uid, folder: c}, nil
}

type mboxutilFlags struct {
	create, del, rename, move, pattern, uids string
	list, extended                           bool
}

func mboxutil(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mboxutil", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, mboxutilUsage) }
	cfg := configFlag(fs)
	var f mboxutilFlags
	fs.StringVar(&f.create, "c", "", "create `MAILBOX`")
	fs.StringVar(&f.del, "d", "", "delete `MAILBOX`")
	fs.StringVar(&f.rename, "r", "", "rename `OLD` to the NEW argument")
	fs.StringVar(&f.move, "m", "", "move messages from `SRC` to the DST argument")
	fs.StringVar(&f.uids, "u", "", "with -m: the `UIDS` to move")
	fs.BoolVar(&f.list, "l", false, "list mailboxes")
	fs.BoolVar(&f.extended, "x", false, "with -l: message count and size")
	fs.StringVar(&f.pattern, "p", "*", "with -l: IMAP `PATTERN`")
	// Flags may follow positional arguments (-m SRC DST -u 1:5).
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	act, err := f.action(pos)
	if err != nil {
		fmt.Fprintf(stderr, "mboxutil: %v\n", err)
		fmt.Fprint(stderr, mboxutilUsage)
		return 2
	}
	s, ok := openStore(*cfg, stderr)
	if !ok {
		return 1
	}
	defer s.Close()
	if err := act(context.Background(), s, stdout); err != nil {
		fmt.Fprintf(stderr, "mboxutil: %v\n", err)
		return 1
	}
	return 0
}

type action func(ctx context.Context, s *store.Store, w io.Writer) error

// action checks that exactly one action was given, with its arguments.
func (f mboxutilFlags) action(rest []string) (action, error) {
	n := 0
	for _, set := range []bool{f.create != "", f.del != "", f.rename != "", f.move != "", f.list} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("give exactly one of -c, -d, -r, -l, -m")
	}
	wantArgs := 0
	if f.rename != "" || f.move != "" {
		wantArgs = 1
	}
	if len(rest) != wantArgs {
		return nil, fmt.Errorf("unexpected arguments %q", rest)
	}
	switch {
	case f.create != "":
		return func(ctx context.Context, s *store.Store, w io.Writer) error {
			return createMailbox(ctx, s, w, f.create)
		}, nil
	case f.del != "":
		return func(ctx context.Context, s *store.Store, w io.Writer) error { return deleteMailbox(ctx, s, w, f.del) }, nil
	case f.rename != "":
		return func(ctx context.Context, s *store.Store, w io.Writer) error {
			return renameMailbox(ctx, s, w, f.rename, rest[0])
		}, nil
	case f.move != "":
		set, err := parseUIDSet(f.uids)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, s *store.Store, w io.Writer) error {
			return moveMessages(ctx, s, w, f.move, rest[0], set)
		}, nil
	}
	return func(ctx context.Context, s *store.Store, w io.Writer) error {
		return listMailboxes(ctx, s, w, f.pattern, f.extended)
	}, nil
}

func createMailbox(ctx context.Context, s *store.Store, w io.Writer, name string) error {
	m, err := parseMailbox(name)
	if err != nil {
		return err
	}
	if m.folder == store.Inbox {
		if _, err := s.Folder(ctx, m.user, store.Inbox); err == nil {
			return fmt.Errorf("create %s: mailbox exists", m)
		}
		if err := s.EnsureUser(ctx, m.user); err != nil {
			return fmt.Errorf("create %s: %w", m, err)
		}
		fmt.Fprintf(w, "created %s\n", m)
		return nil
	}
	err = s.CreateFolder(ctx, m.user, m.folder, store.CreateOptions{Subscribe: true})
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("create %s: mailbox exists", m)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", m, err)
	}
	fmt.Fprintf(w, "created %s (subscribed for %s)\n", m, m.user)
	return nil
}

func deleteMailbox(ctx context.Context, s *store.Store, w io.Writer, name string) error {
	m, err := parseMailbox(name)
	if err != nil {
		return err
	}
	if m.folder == store.Inbox {
		n, err := s.DeleteUser(ctx, m.user)
		if err != nil {
			return fmt.Errorf("delete %s: %w", m, err)
		}
		if n == 0 {
			return fmt.Errorf("delete %s: no such mailbox", m)
		}
		fmt.Fprintf(w, "deleted %s and its %d folders\n", m, n)
		return nil
	}
	err = s.DeleteFolder(ctx, m.user, m.folder)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: no such mailbox", m)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", m, err)
	}
	fmt.Fprintf(w, "deleted %s\n", m)
	return nil
}

// sameUser parses two mailbox names of one user.
func sameUser(a, b string) (mboxName, mboxName, error) {
	ma, err := parseMailbox(a)
	if err != nil {
		return ma, mboxName{}, err
	}
	mb, err := parseMailbox(b)
	if err != nil {
		return ma, mb, err
	}
	if ma.user != mb.user {
		return ma, mb, fmt.Errorf("%s and %s belong to different users (use moveuser to move a user)", ma, mb)
	}
	return ma, mb, nil
}

func renameMailbox(ctx context.Context, s *store.Store, w io.Writer, oldName, newName string) error {
	o, n, err := sameUser(oldName, newName)
	if err != nil {
		return err
	}
	err = s.RenameFolder(ctx, o.user, o.folder, n.folder)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("rename %s: no such mailbox", o)
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("rename %s to %s: %s exists", o, n, n)
	case err != nil:
		return fmt.Errorf("rename %s to %s: %w", o, n, err)
	}
	if o.folder == store.Inbox {
		fmt.Fprintf(w, "moved the messages of %s to the new mailbox %s; %s is empty\n", o, n, o)
	} else {
		fmt.Fprintf(w, "renamed %s to %s\n", o, n)
	}
	return nil
}

// listMailboxes prints the mailboxes matching pattern, one a line.
func listMailboxes(ctx context.Context, s *store.Store, w io.Writer, pattern string, extended bool) error {
	users, err := usersFor(ctx, s, pattern)
	if err != nil {
		return err
	}
	if extended {
		fmt.Fprintf(w, "%10s %15s  %s\n", "MESSAGES", "BYTES", "MAILBOX")
	}
	for _, u := range users {
		folders, err := s.Folders(ctx, u)
		if err != nil {
			return fmt.Errorf("list user/%s: %w", u, err)
		}
		sort.Slice(folders, func(i, j int) bool {
			return classicName(u, folders[i].Name) < classicName(u, folders[j].Name)
		})
		for _, f := range folders {
			name := classicName(u, f.Name)
			if !matchPattern(pattern, name) {
				continue
			}
			if extended {
				fmt.Fprintf(w, "%10d %15d  %s\n", f.Messages, f.Size, name)
			} else {
				fmt.Fprintln(w, name)
			}
		}
	}
	return nil
}

// usersFor returns the users a pattern can match: one user if the
// pattern names it literally (user/<uid> or user/<uid>/...), else all.
func usersFor(ctx context.Context, s *store.Store, pattern string) ([]string, error) {
	if rest, ok := strings.CutPrefix(pattern, "user/"); ok {
		uid, _, _ := strings.Cut(rest, "/")
		if uid != "" && !strings.ContainsAny(uid, "*%") {
			if store.ValidateUser(uid) != nil {
				return nil, nil
			}
			return []string{uid}, nil
		}
	}
	users, err := s.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// matchPattern matches an IMAP LIST pattern: "*" matches any characters,
// "%" any characters but the delimiter "/" (RFC 9051 6.3.9).
func matchPattern(pattern, name string) bool {
	return imapserver.MatchList(name, '/', "", pattern)
}

// uidRange is first:last inclusive; last 0 means "*" (no upper bound).
type uidRange struct{ first, last uint32 }

// parseUIDSet parses "1:5,9,20:*"; "" means all messages (nil).
func parseUIDSet(s string) ([]uidRange, error) {
	if s == "" {
		return nil, nil
	}
	var out []uidRange
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		first, err := parseUID(a)
		if err != nil || first == 0 {
			return nil, fmt.Errorf("bad UID set %q", s)
		}
		last := first
		if isRange {
			if last, err = parseUID(b); err != nil {
				return nil, fmt.Errorf("bad UID set %q", s)
			}
		}
		if last != 0 && last < first {
			first, last = last, first
		}
		out = append(out, uidRange{first, last})
	}
	return out, nil
}

func parseUID(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func inSet(set []uidRange, uid uint32) bool {
	for _, r := range set {
		if uid >= r.first && (r.last == 0 || uid <= r.last) {
			return true
		}
	}
	return false
}

func moveMessages(ctx context.Context, s *store.Store, w io.Writer, src, dst string, set []uidRange) error {
	from, to, err := sameUser(src, dst)
	if err != nil {
		return err
	}
	var uids []uint32
	if set != nil {
		if uids, err = selectUIDs(ctx, s, from, set); err != nil {
			return err
		}
		if len(uids) == 0 {
			return fmt.Errorf("move from %s: no messages with UIDs %s", from, formatSet(set))
		}
	}
	res, err := s.MoveMessages(ctx, from.user, from.folder, to.folder, uids)
	if err != nil {
		return fmt.Errorf("move %s to %s: %w", from, to, err)
	}
	fmt.Fprintf(w, "moved %d messages from %s to %s\n", len(res.SrcUIDs), from, to)
	for i := range res.SrcUIDs {
		fmt.Fprintf(w, "  UID %d -> UID %d\n", res.SrcUIDs[i], res.DstUIDs[i])
	}
	return nil
}

// selectUIDs lists the UIDs of folder m that are in set.
func selectUIDs(ctx context.Context, s *store.Store, m mboxName, set []uidRange) ([]uint32, error) {
	mb, err := s.OpenFolder(ctx, m.user, m.folder, true)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m, err)
	}
	defer mb.Close()
	var uids []uint32 // ascending: UIDs grow with sequence numbers
	err = mb.Messages(1, mb.Count(), func(msg mailbox.Message) bool {
		if inSet(set, msg.UID) {
			uids = append(uids, msg.UID)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", m, err)
	}
	return uids, nil
}

func formatSet(set []uidRange) string {
	parts := make([]string, len(set))
	for i, r := range set {
		last := "*"
		if r.last != 0 {
			last = strconv.FormatUint(uint64(r.last), 10)
		}
		parts[i] = fmt.Sprintf("%d:%s", r.first, last)
	}
	return strings.Join(parts, ",")
}
