package mailbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as a child with these variables set.
const (
	childModeEnv = "MSGPLEX_MAILBOX_CHILD"
	childDirEnv  = "MSGPLEX_MAILBOX_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childModeEnv) {
	case "":
		os.Exit(m.Run())
	case "commands":
		childCommands(os.Getenv(childDirEnv))
	case "appendloop":
		childAppendLoop(os.Getenv(childDirEnv))
	}
	os.Exit(0)
}

// childCommands runs one operation per line of stdin and answers "ok" or
// "error ..." on stdout.
func childCommands(dir string) {
	opts := testOpts(1 << 20)
	m, err := Open(dir, false, opts)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	defer m.Close()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var err error
		switch f[0] {
		case "append":
			_, err = m.Append(strings.NewReader(msgText(99)), nil, testDate)
		case "flag":
			uid, _ := strconv.Atoi(f[1])
			err = m.Store([]uint32{uint32(uid)}, FlagsAdd, []string{`\Flagged`})
		case "expunge":
			uid, _ := strconv.Atoi(f[1])
			_, err = m.Expunge([]uint32{uint32(uid)})
		}
		if err != nil {
			fmt.Println("error", err)
		} else {
			fmt.Println("ok")
		}
	}
}

// childAppendLoop appends until killed, printing each acknowledged
// change: "A uid i" (appended message i), "F uid" (flagged), "E uid"
// (expunged).
func childAppendLoop(dir string) {
	opts := testOpts(1 << 20)
	m, err := Open(dir, false, opts)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	for i := 0; i < 100_000; i++ {
		uid, err := AppendTo(dir, strings.NewReader(msgText(i)), []string{`\Seen`}, testDate, opts)
		if err != nil {
			fmt.Println("error", err)
			return
		}
		fmt.Println("A", uid, i)
		switch i % 4 {
		case 1:
			err = m.Store([]uint32{uid}, FlagsAdd, []string{`\Flagged`})
			fmt.Println("F", uid)
		case 3:
			_, err = m.Expunge([]uint32{uid})
			fmt.Println("E", uid)
		}
		if err != nil {
			fmt.Println("error", err)
			return
		}
	}
}

func startChild(t *testing.T, mode, dir string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, in, bufio.NewScanner(out)
}

// A view in this process sees another process's appends, flag changes
// and expunges, and Wait wakes for each.
func TestCrossProcess(t *testing.T) {
	t.Parallel()
	t.Run("own watcher", func(t *testing.T) { t.Parallel(); crossProcess(t, nil) })
	t.Run("shared watcher", func(t *testing.T) {
		t.Parallel()
		w, err := NewWatcher(nil)
		if err != nil {
			t.Skip("no inotify:", err)
		}
		defer w.Close()
		crossProcess(t, w)
	})
}

func crossProcess(t *testing.T, w *Watcher) {
	dir := newFolder(t)
	for i := 1; i <= 3; i++ {
		mustAppend(t, dir, i)
	}
	opts := testOpts(1 << 20)
	opts.Watcher = w
	m := mustOpen(t, dir, false, opts)
	m.pollEvery = time.Hour // so Wait returning proves a notice arrived
	closed := make(chan struct{})
	close(closed)
	m.Wait(closed) // sets up the watch before the first change
	_, in, out := startChild(t, "commands", dir)
	step := func(cmd string) Changes {
		t.Helper()
		m.Sync(false) // drain
		woke := make(chan struct{})
		stop := make(chan struct{})
		defer close(stop)
		go func() { m.Wait(stop); close(woke) }()
		fmt.Fprintln(in, cmd)
		if !out.Scan() || out.Text() != "ok" {
			t.Fatalf("%s: child said %q", cmd, out.Text())
		}
		select {
		case <-woke:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: Wait did not wake", cmd)
		}
		ch, err := m.Sync(true)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	if ch := step("append"); ch.Messages != 4 {
		t.Fatalf("append: %+v", ch)
	}
	if ch := step("flag 2"); len(ch.Flags) != 1 || ch.Flags[0].UID != 2 || !slices.Contains(ch.Flags[0].Flags, `\Flagged`) {
		t.Fatalf("flag: %+v", ch)
	}
	if ch := step("expunge 1"); !slices.Equal(ch.Expunged, []uint32{1}) || m.Count() != 3 {
		t.Fatalf("expunge: %+v", ch)
	}
	if u := uids(t, m); !slices.Equal(u, []uint32{2, 3, 4}) {
		t.Fatalf("uids %v", u)
	}
}

// Several processes append, flag and expunge; they are killed with
// SIGKILL mid-stream. Every acknowledged change is there afterwards, and
// still after a reconstruct.
func TestCrashDuringAppends(t *testing.T) {
	t.Parallel()
	dir := newFolder(t)
	const children = 3
	lines := make(chan string, 1000)
	done := make(chan struct{}, children)
	var cmds []*exec.Cmd
	for c := 0; c < children; c++ {
		cmd, _, out := startChild(t, "appendloop", dir)
		cmds = append(cmds, cmd)
		go func() {
			defer func() { done <- struct{}{} }()
			for out.Scan() {
				lines <- out.Text()
			}
		}()
	}
	appended := map[uint32]int{} // UID -> message number
	flagged, expunged := map[uint32]bool{}, map[uint32]bool{}
	record := func(line string) {
		var kind string
		var uid uint32
		var i int
		fmt.Sscan(line, &kind, &uid, &i)
		switch kind {
		case "A":
			appended[uid] = i
		case "F":
			flagged[uid] = true
		case "E":
			expunged[uid] = true
		default:
			t.Errorf("child: %s", line)
		}
	}
	deadline := time.After(60 * time.Second)
	for len(appended) < 60 {
		select {
		case l := <-lines:
			record(l)
		case <-deadline:
			t.Fatalf("only %d appends acknowledged", len(appended))
		}
	}
	for _, cmd := range cmds {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	for c := 0; c < children; c++ {
		<-done
	}
	for len(lines) > 0 {
		record(<-lines)
	}
	check := func(stage string) {
		m, err := Open(dir, true, testOpts(1<<20))
		if err != nil {
			t.Fatalf("%s: open: %v", stage, err)
		}
		defer m.Close()
		for uid, i := range appended {
			seq, ok := m.SeqOf(uid)
			if expunged[uid] {
				if ok {
					t.Fatalf("%s: expunged UID %d is back", stage, uid)
				}
				continue
			}
			if !ok {
				t.Fatalf("%s: acknowledged UID %d lost", stage, uid)
			}
			msg, _ := m.Message(seq)
			f, err := m.OpenMessage(msg.UID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != msgText(i) || !slices.Contains(msg.Flags, `\Seen`) ||
				flagged[uid] && !slices.Contains(msg.Flags, `\Flagged`) {
				t.Fatalf("%s: UID %d content %q flags %v", stage, uid, b, msg.Flags)
			}
		}
	}
	check("after kill")
	if _, err := Reconstruct(dir, 1, testOpts(1<<20)); err != nil {
		t.Fatal(err)
	}
	check("after reconstruct")
	if len(expunged) == 0 || len(flagged) == 0 {
		t.Fatalf("no expunges (%d) or flags (%d) acknowledged", len(expunged), len(flagged))
	}
}
