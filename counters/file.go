package counters

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FileFor returns the counters file of a service: "proxy" keeps it in its
// state directory, "store" under its data root.
func FileFor(service, dir string) string {
	if service == "store" {
		return filepath.Join(dir, "counters", "store.counters")
	}
	return filepath.Join(dir, service+".counters")
}

// Format writes snap in the file format (see the package doc).
func Format(w io.Writer, service string, pid int, now time.Time, snap Snapshot) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# msgplex counters v1 service=%s pid=%d time=%d\n", service, pid, now.Unix())
	for _, v := range snap {
		fmt.Fprintf(bw, "%s %d\n", v.Name, v.Value)
	}
	return bw.Flush()
}

// WriteFile writes snap to path atomically: a temp file in the same
// directory, fsynced, renamed over path. The directory is created if needed.
func WriteFile(path, service string, now time.Time, snap Snapshot) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("counters: %w", err)
	}
	var buf bytes.Buffer
	if err := Format(&buf, service, os.Getpid(), now, snap); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".counters-*")
	if err != nil {
		return fmt.Errorf("counters: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("counters: write %s: %w", path, err)
	}
	return nil
}

// Parse reads the file format.
func Parse(r io.Reader) (Snapshot, error) {
	var snap Snapshot
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		v, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("counters: line %d: malformed %q", n, line)
		}
		snap = append(snap, Value{name, v})
	}
	return snap, sc.Err()
}

// ReadFile reads a counters file.
func ReadFile(path string) (Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	defer f.Close()
	snap, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return snap, nil
}

// Publish writes s to path every interval until ctx ends, then once more.
// Write errors are logged, not fatal: counters must never stop a service.
func Publish(ctx context.Context, s *Set, path, service string, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = time.Second
	}
	write := func() {
		if err := WriteFile(path, service, time.Now(), s.Snapshot()); err != nil && log != nil {
			log.Warn("publish counters", "err", err)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	write()
	for {
		select {
		case <-ctx.Done():
			write()
			return
		case <-t.C:
			write()
		}
	}
}
