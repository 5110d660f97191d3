package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"msgplex/store"
)

func init() {
	register("reconstruct", "rebuild mailboxes' index and cache from their message files", func(args []string) int {
		return reconstruct(args, os.Stdout, os.Stderr)
	})
}

const reconstructUsage = `usage: msgplex reconstruct [--config FILE] [-r] MAILBOX...

Rebuilds each mailbox's index and cache from its message files: keeps the
UIDs, flags and UIDVALIDITY the old index still has, gives UIDs to message
files it does not know (e.g. copied in by hand), drops records whose file
is gone. A folder directory on disk that the folder list does not know is
added to it (and subscribed). -r also rebuilds every mailbox below each
MAILBOX: "reconstruct -r user/alice" rebuilds all of alice's folders.
Mailbox names are user/<uid> (INBOX) and user/<uid>/<folder>.

Works while the store runs and against a stopped store.
`

func reconstruct(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reconstruct", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reconstructUsage) }
	cfg := configFlag(fs)
	recursive := fs.Bool("r", false, "also every mailbox below each MAILBOX")
	var names []string
	for { // flags may follow mailbox names
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if args = fs.Args(); len(args) == 0 {
			break
		}
		names, args = append(names, args[0]), args[1:]
	}
	if len(names) == 0 {
		fmt.Fprint(stderr, reconstructUsage)
		return 2
	}
	var targets []mboxName
	for _, n := range names {
		m, err := parseMailbox(n)
		if err != nil {
			fmt.Fprintf(stderr, "reconstruct: %v\n", err)
			return 2
		}
		targets = append(targets, m)
	}
	s, ok := openStore(*cfg, stderr)
	if !ok {
		return 1
	}
	defer s.Close()
	ctx := context.Background()
	failed := false
	for _, t := range targets {
		folders := []string{t.folder}
		if *recursive {
			var err error
			if folders, err = folderTree(ctx, s, t); err != nil {
				fmt.Fprintf(stderr, "reconstruct: %s: %v\n", t, err)
				failed = true
				continue
			}
		}
		for _, f := range folders {
			if !reconstructOne(ctx, s, mboxName{user: t.user, folder: f}, stdout, stderr) {
				failed = true
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}

// folderTree lists m and the folders below it, listed or only on disk.
// For user/<uid> (INBOX) that is every folder of the user.
func folderTree(ctx context.Context, s *store.Store, m mboxName) ([]string, error) {
	set := map[string]bool{}
	folders, err := s.Folders(ctx, m.user)
	if err != nil {
		return nil, err
	}
	for _, f := range folders {
		set[f.Name] = true
	}
	disk, err := s.FoldersOnDisk(m.user)
	if err != nil {
		return nil, err
	}
	for _, n := range disk {
		set[n] = true
	}
	var out []string
	for n := range set {
		if m.folder == store.Inbox || n == m.folder || strings.HasPrefix(n, m.folder+"/") {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []string{m.folder} // let Reconstruct say it does not exist
	}
	sort.Slice(out, func(i, j int) bool { return classicName(m.user, out[i]) < classicName(m.user, out[j]) })
	return out, nil
}

func reconstructOne(ctx context.Context, s *store.Store, m mboxName, stdout, stderr io.Writer) bool {
	rep, err := s.Reconstruct(ctx, m.user, m.folder)
	if err != nil {
		fmt.Fprintf(stderr, "reconstruct: %s: %v\n", m, err)
		return false
	}
	uv := "kept"
	if !rep.UIDValidityKept {
		uv = "new"
	}
	fmt.Fprintf(stdout, "%s: %d kept, %d added, %d dropped; %d messages, %d bytes; UIDVALIDITY %d (%s)",
		m, rep.Kept, rep.Added, rep.Dropped, rep.Messages, rep.Size, rep.UIDValidity, uv)
	switch {
	case rep.Adopted:
		fmt.Fprint(stdout, "; added to the folder list and subscribed")
	case rep.Recreated:
		fmt.Fprint(stdout, "; directory was missing, recreated empty")
	}
	fmt.Fprintln(stdout)
	return true
}
