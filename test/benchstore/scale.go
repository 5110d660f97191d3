package benchstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// scale is how big a run is (BENCH_SCALE).
type scale struct {
	Name string
	// Sizes are folder sizes built and measured on both servers.
	Sizes []int
	// MsgplexOnly are sizes built (bulk import) and measured on msgplex
	// alone.
	MsgplexOnly []int
	// AppendRounds is how many alternating rounds (Dovecot, msgplex,
	// Dovecot, ...) each APPEND rate takes; the median is reported.
	// AppendMax and AppendDur bound each round.
	AppendRounds int
	AppendMax    int
	AppendDur    time.Duration
	// SelectReps bounds the timed SELECTs (and STATUSes) per folder.
	SelectReps int
	// IdleSessions is N for the memory figure.
	IdleSessions int
	// BodyReps is the number of timed BODY[] fetches.
	BodyReps int
}

func scaleFromEnv(tb testing.TB) scale {
	switch s := os.Getenv("BENCH_SCALE"); s {
	case "", "small":
		return scale{Name: "small", Sizes: []int{10000}, AppendRounds: 3, AppendMax: 200, AppendDur: 5 * time.Second,
			SelectReps: 100, IdleSessions: 50, BodyReps: 2}
	case "full":
		return scale{Name: "full", Sizes: []int{10000, 1000000}, MsgplexOnly: []int{10000000},
			AppendRounds: 5, AppendMax: 1500, AppendDur: 8 * time.Second, SelectReps: 200, IdleSessions: 200, BodyReps: 3}
	default:
		tb.Fatalf("BENCH_SCALE=%q: want small or full", s)
		return scale{}
	}
}

// bodySize is the size of the BODY[] message: 50 MiB.
const bodySize = 50 << 20

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// workDir makes a directory for this run that the servers' unprivileged
// users can traverse, removed at the end.
func workDir(tb testing.TB) string {
	tb.Helper()
	d, err := os.MkdirTemp("", "benchstore-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// cacheDir returns a directory for built folders of one kind (prefix)
// and key, under $BENCH_CACHE/<scale>/ (or under tmp without BENCH_CACHE),
// and whether it is complete from an earlier run. Incomplete directories
// and those of other keys are removed.
func cacheDir(tb testing.TB, sc scale, tmp, prefix, key string) (dir string, complete bool) {
	tb.Helper()
	root := os.Getenv("BENCH_CACHE")
	if root == "" {
		root = tmp
	} else {
		root = filepath.Join(root, sc.Name)
	}
	if err := mkdirTraversable(root); err != nil {
		tb.Fatal(err)
	}
	dir = filepath.Join(root, prefix+"-"+key)
	olds, _ := filepath.Glob(filepath.Join(root, prefix+"-*"))
	for _, o := range olds {
		if o != dir {
			os.RemoveAll(o)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, true
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir, false
}

// markComplete records that dir was fully built.
func markComplete(tb testing.TB, dir string) {
	if err := os.WriteFile(filepath.Join(dir, ".complete"), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// mkdirTraversable makes dir (and parents) and opens each new one to
// others for traversal (Dovecot's mail uid must reach cached maildirs).
func mkdirTraversable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o011 == 0o011 {
			break
		}
		if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
			return err
		}
	}
	return nil
}

// sourceKey hashes the Go files matching globs under the module root
// (the on-disk format of msgplex's built folders depends on them) plus
// extra strings.
func sourceKey(globs []string, extra ...string) string {
	h := sha256.New()
	for _, g := range globs {
		files, _ := filepath.Glob(filepath.Join(moduleRoot(), g))
		sort.Strings(files)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, _ := os.ReadFile(f)
			fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
			h.Write(b)
		}
	}
	for _, e := range extra {
		fmt.Fprintln(h, e)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// dovecotVersion is `dovecot --version`.
func dovecotVersion() string {
	out, err := exec.Command("dovecot", "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
