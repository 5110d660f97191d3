package test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"msgplex/internal/e2e"
	"msgplex/store"
	"msgplex/store/index"
	"msgplex/store/message"
)

// adminEnv is a data root with a config file, and this process's own
// store.Store open on it (standing in for the running store daemon: the
// admin tools must work while another process has the data root open).
type adminEnv struct {
	t     *testing.T
	cfg   string
	store *store.Store
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "msgplex.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[store]\ndataroot = %q\n", root)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(store.Options{DataRoot: root, Budget: index.NewBudget(64 << 20), Summarize: message.Summarize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &adminEnv{t: t, cfg: cfg, store: s}
}

// run runs `msgplex TOOL --config CFG ARGS...` and returns its output
// and exit code.
func (e *adminEnv) run(tool string, args ...string) (string, int) {
	e.t.Helper()
	out, err := e2e.Run(e.t, append([]string{tool, "--config", e.cfg}, args...)...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &exit):
		return out, exit.ExitCode()
	}
	e.t.Fatalf("msgplex %s %v: %v\n%s", tool, args, err, out)
	return "", -1
}

// mustRun runs a tool that must succeed.
func (e *adminEnv) mustRun(tool string, args ...string) string {
	e.t.Helper()
	out, code := e.run(tool, args...)
	if code != 0 {
		e.t.Fatalf("msgplex %s %v: exit %d\n%s", tool, args, code, out)
	}
	return out
}

// appendCorpus appends the shared MIME test messages (copied to a temp
// dir first) to a folder and returns their count and total size.
func (e *adminEnv) appendCorpus(uid, folder string) (int, int64) {
	e.t.Helper()
	src := filepath.Join(e2e.SharedTestdata(), "mime")
	ents, err := os.ReadDir(src)
	if err != nil {
		e.t.Fatal(err)
	}
	tmp := e.t.TempDir()
	m, err := e.store.OpenFolder(context.Background(), uid, folder, false)
	if err != nil {
		e.t.Fatal(err)
	}
	defer m.Close()
	n, size := 0, int64(0)
	for _, ent := range ents {
		if ent.IsDir() || n == 12 {
			continue
		}
		p := filepath.Join(tmp, ent.Name())
		copyFile(e.t, filepath.Join(src, ent.Name()), p)
		f, err := os.Open(p)
		if err != nil {
			e.t.Fatal(err)
		}
		fi, _ := f.Stat()
		_, err = m.Append(f, []string{`\Seen`}, time.Now())
		f.Close()
		if err != nil {
			e.t.Fatalf("append %s: %v", ent.Name(), err)
		}
		n, size = n+1, size+fi.Size()
	}
	if n == 0 {
		e.t.Fatalf("no test messages in %s", src)
	}
	return n, size
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// copyMessageFiles copies every NN/*.msg of one folder directory into
// another, by hand, as an admin with tar would. It returns the count and
// total size of the files copied.
func copyMessageFiles(t *testing.T, from, to string) (int, int64) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(from, "[0-9][0-9]", "*.msg"))
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, f := range files {
		rel, _ := filepath.Rel(from, f)
		copyFile(t, f, filepath.Join(to, rel))
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	return len(files), size
}

// listed parses `mboxutil -l -x` output: mailbox -> messages, bytes.
func listed(t *testing.T, out string) map[string][2]int64 {
	t.Helper()
	got := map[string][2]int64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] == "MESSAGES" {
			continue
		}
		msgs, err1 := strconv.ParseInt(f[0], 10, 64)
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad list line %q", sc.Text())
		}
		got[f[2]] = [2]int64{msgs, size}
	}
	return got
}

// TestAdminCopyAndReconstruct is DESIGN.md lesson 3: an admin creates a
// folder with mboxutil, copies message files into it by hand, runs
// reconstruct; the folder then has the messages and the user is
// subscribed to it. Then mboxutil -m moves messages safely.
func TestAdminCopyAndReconstruct(t *testing.T) {
	ctx := context.Background()
	e := newAdminEnv(t)
	if err := e.store.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	n, _ := e.appendCorpus("alice", "INBOX")

	out := e.mustRun("mboxutil", "-c", "user/alice/Project")
	if !strings.Contains(out, "user/alice/Project") {
		t.Fatalf("create said %q", out)
	}
	copied, size := copyMessageFiles(t, e.store.FolderDir("alice", "INBOX"), e.store.FolderDir("alice", "Project"))
	if copied != n {
		t.Fatalf("copied %d files, INBOX has %d messages", copied, n)
	}
	out = e.mustRun("reconstruct", "user/alice/Project")
	if want := fmt.Sprintf("user/alice/Project: 0 kept, %d added, 0 dropped", n); !strings.Contains(out, want) {
		t.Fatalf("reconstruct said %q, want %q", out, want)
	}
	if !strings.Contains(out, "(kept)") {
		t.Fatalf("reconstruct should keep the UIDVALIDITY of the folder mboxutil made: %q", out)
	}

	got := listed(t, e.mustRun("mboxutil", "-l", "-x", "-p", "user/alice/*"))
	if got["user/alice/Project"] != [2]int64{int64(n), size} {
		t.Fatalf("mboxutil -l -x: Project = %v, want %d messages, %d bytes (all: %v)", got["user/alice/Project"], n, size, got)
	}
	if _, ok := got["user/alice"]; ok {
		t.Fatalf("pattern user/alice/* matched the INBOX: %v", got)
	}
	for _, f := range []string{"Archive", "Drafts", "Junk", "Sent", "Trash"} {
		if _, ok := got["user/alice/"+f]; !ok {
			t.Fatalf("mboxutil -l lacks user/alice/%s: %v", f, got)
		}
	}
	subs, err := e.store.Subscriptions(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !contains(subs, "Project") {
		t.Fatalf("alice is not subscribed to Project: %v", subs)
	}
	st, err := e.store.FolderStatus(ctx, "alice", "Project")
	if err != nil || st.Messages != uint32(n) || st.Size != size {
		t.Fatalf("Project status %+v, %v", st, err)
	}
	checkBodies(t, e, "INBOX", "Project")

	// The safe move: two messages, then the rest; counts on both sides.
	out = e.mustRun("mboxutil", "-m", "user/alice/Project", "user/alice/Archive", "-u", "1:2")
	if !strings.Contains(out, "moved 2 messages") {
		t.Fatalf("move said %q", out)
	}
	got = listed(t, e.mustRun("mboxutil", "-l", "-x", "-p", "user/alice/%"))
	if got["user/alice/Project"][0] != int64(n-2) || got["user/alice/Archive"][0] != 2 {
		t.Fatalf("after moving 2: %v", got)
	}
	if got["user/alice/Project"][1]+got["user/alice/Archive"][1] != size {
		t.Fatalf("sizes after move do not add up to %d: %v", size, got)
	}
	e.mustRun("mboxutil", "-m", "user/alice/Project", "user/alice/Archive")
	got = listed(t, e.mustRun("mboxutil", "-x", "-l", "-p", "user/alice/*"))
	if got["user/alice/Project"] != [2]int64{0, 0} || got["user/alice/Archive"] != [2]int64{int64(n), size} {
		t.Fatalf("after moving all: %v", got)
	}
	checkBodies(t, e, "INBOX", "Archive")
}

// checkBodies checks that folder b holds the same message bodies as a.
func checkBodies(t *testing.T, e *adminEnv, a, b string) {
	t.Helper()
	read := func(folder string) map[string]bool {
		m, err := e.store.OpenFolder(context.Background(), "alice", folder, true)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		set := map[string]bool{}
		for seq := uint32(1); seq <= m.Count(); seq++ {
			msg, err := m.Message(seq)
			if err != nil {
				t.Fatal(err)
			}
			f, err := m.OpenMessage(msg.UID)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			set[string(body)] = true
		}
		return set
	}
	ra, rb := read(a), read(b)
	if len(ra) != len(rb) {
		t.Fatalf("%s has %d distinct bodies, %s %d", a, len(ra), b, len(rb))
	}
	for body := range ra {
		if !rb[body] {
			t.Fatalf("%s lacks a message of %s", b, a)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestAdminReconstructAdoptsDirectory: message files copied into a folder
// directory nobody created (tar of a whole folder) become a listed,
// subscribed folder after reconstruct -r of the user.
func TestAdminReconstructAdoptsDirectory(t *testing.T) {
	ctx := context.Background()
	e := newAdminEnv(t)
	if err := e.store.EnsureUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	n, _ := e.appendCorpus("alice", "INBOX")
	dir := e.store.FolderDir("alice", "Restored/2025")
	if _, size := copyMessageFiles(t, e.store.FolderDir("alice", "INBOX"), dir); size == 0 {
		t.Fatal("nothing copied")
	}
	out := e.mustRun("reconstruct", "-r", "user/alice")
	for _, f := range []string{"user/alice:", "user/alice/Archive:", "user/alice/Restored/2025:"} {
		if !strings.Contains(out, f) {
			t.Fatalf("reconstruct -r output lacks %q:\n%s", f, out)
		}
	}
	if !strings.Contains(out, fmt.Sprintf("user/alice/Restored/2025: 0 kept, %d added", n)) ||
		!strings.Contains(out, "added to the folder list and subscribed") {
		t.Fatalf("reconstruct -r output:\n%s", out)
	}
	if want := fmt.Sprintf("user/alice: %d kept, 0 added, 0 dropped", n); !strings.Contains(out, want) {
		t.Fatalf("INBOX not kept as is (%q):\n%s", want, out)
	}
	f, err := e.store.Folder(ctx, "alice", "Restored/2025")
	if err != nil || !f.Subscribed || f.LastRepair.IsZero() {
		t.Fatalf("Restored/2025: %+v, %v", f, err)
	}
	fs, err := e.store.Folders(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Name == "Restored/2025" && f.Messages != uint32(n) {
			t.Fatalf("Restored/2025 has %d messages, want %d", f.Messages, n)
		}
	}
}

// TestAdminErrors: clear messages naming the mailbox, exit code 1 (2 for
// usage errors).
func TestAdminErrors(t *testing.T) {
	ctx := context.Background()
	e := newAdminEnv(t)
	if err := e.store.EnsureUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tool string
		args []string
		code int
		want string
	}{
		{"mboxutil", []string{"-c", "user/bob/Sent"}, 1, "user/bob/Sent: mailbox exists"},
		{"mboxutil", []string{"-c", "user/bob/../../etc"}, 1, "invalid mailbox name"},
		{"mboxutil", []string{"-d", "user/bob/Nope"}, 1, "user/bob/Nope: no such mailbox"},
		{"mboxutil", []string{"-r", "user/bob/Nope", "user/bob/New"}, 1, "user/bob/Nope: no such mailbox"},
		{"mboxutil", []string{"-r", "user/bob/Sent", "user/bob/Trash"}, 1, "user/bob/Trash exists"},
		{"mboxutil", []string{"-r", "user/bob/Sent", "user/carol/Sent"}, 1, "different users"},
		{"mboxutil", []string{"-m", "user/bob", "user/bob/Nope"}, 1, "user/bob/Nope"},
		{"mboxutil", []string{"-c", "shared/x"}, 1, `"shared/x"`},
		{"mboxutil", []string{"-l", "-c", "user/bob/X"}, 2, "exactly one"},
		{"reconstruct", []string{"user/bob/Nope"}, 1, "user/bob/Nope"},
		{"reconstruct", nil, 2, "usage"},
	}
	for _, c := range cases {
		out, code := e.run(c.tool, c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%s %v: exit %d, output %q; want exit %d and %q", c.tool, c.args, code, out, c.code, c.want)
		}
	}
	// Create, rename, delete round trip, as the store sees it.
	e.mustRun("mboxutil", "-c", "user/bob/Work")
	e.mustRun("mboxutil", "-c", "user/bob/Work/Sub")
	e.mustRun("mboxutil", "-r", "user/bob/Work", "user/bob/Jobs")
	if _, err := e.store.FolderStatus(ctx, "bob", "Jobs/Sub"); err != nil {
		t.Fatalf("Jobs/Sub after rename: %v", err)
	}
	e.mustRun("mboxutil", "-d", "user/bob/Jobs/Sub")
	out := e.mustRun("mboxutil", "-l", "-p", "user/bob/Jo*")
	if strings.TrimSpace(out) != "user/bob/Jobs" {
		t.Fatalf("list after delete: %q", out)
	}
	e.mustRun("mboxutil", "-d", "user/bob")
	if users, _ := e.store.Users(ctx); len(users) != 0 {
		t.Fatalf("users after deleting bob: %v", users)
	}
}

// adminFolderDir computes a folder's directory from the layout documented
// in package store (what an admin with a shell does).
func adminFolderDir(root, uid, folder string) string {
	h1, h2 := store.UserHash(uid)
	return filepath.Join(root, "partition", "primary", "=user", h1, h2, "="+uid, store.EscapeFolder(folder))
}

// TestAdminWhileStoreRuns: the lesson-3 procedure against a running
// `msgplex store`, checked by an IMAP client: the folder is subscribed,
// its messages are there with their envelopes, and a move shows.
func TestAdminWhileStoreRuns(t *testing.T) {
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "alice", Password: "pw-alice"})
	data := filepath.Join(dir, "data")
	srv := e2e.StartStore(t, e2e.StoreConfig{DataRoot: data, LDIF: ldif})
	e := &adminEnv{t: t, cfg: srv.Config}

	c := dialLogin(t, srv.Addr, "alice", "pw-alice", nil)
	defer c.Close()
	subjects := map[string]bool{}
	for i := range 3 {
		s := fmt.Sprintf("report %d", i)
		appendMsg(t, c, "INBOX", s)
		subjects[s] = true
	}

	e.mustRun("mboxutil", "-c", "user/alice/Project")
	n, size := copyMessageFiles(t, adminFolderDir(data, "alice", "INBOX"), adminFolderDir(data, "alice", "Project"))
	if n != 3 {
		t.Fatalf("copied %d files", n)
	}
	e.mustRun("reconstruct", "user/alice/Project")
	got := listed(t, e.mustRun("mboxutil", "-l", "-x", "-p", "user/alice/*"))
	if got["user/alice/Project"] != [2]int64{3, size} {
		t.Fatalf("mboxutil -l -x: %v", got)
	}

	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range subs {
		names = append(names, m.Mailbox)
	}
	if !contains(names, "Project") {
		t.Fatalf("subscribed folders over IMAP: %v", names)
	}
	sel, err := c.Select("Project", nil).Wait()
	if err != nil || sel.NumMessages != 3 {
		t.Fatalf("select Project: %+v, %v", sel, err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 3 {
		t.Fatalf("fetch: %d, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Envelope == nil || !subjects[m.Envelope.Subject] {
			t.Fatalf("envelope %+v", m.Envelope)
		}
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}

	e.mustRun("mboxutil", "-m", "user/alice/Project", "user/alice/Archive", "-u", "1")
	for mbox, want := range map[string]uint32{"Project": 2, "Archive": 1} {
		st, err := c.Status(mbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || st.NumMessages == nil || *st.NumMessages != want {
			t.Fatalf("STATUS %s: %+v, %v; want %d messages", mbox, st, err, want)
		}
	}
}
