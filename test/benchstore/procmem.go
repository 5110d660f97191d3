package benchstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procMem is memory summed over a set of processes, in bytes.
type procMem struct {
	RSS, PSS int64
	Procs    int
}

// treeMem sums RSS and PSS (from /proc/PID/smaps_rollup) over root and
// all its descendants whose command name passes keep (nil keeps all).
func treeMem(root int, keep func(comm string) bool) (procMem, error) {
	pids, err := descendants(root)
	if err != nil {
		return procMem{}, err
	}
	var m procMem
	for _, pid := range pids {
		if keep != nil && !keep(procComm(pid)) {
			continue
		}
		rss, pss, err := rollup(pid)
		if err != nil {
			continue // exited meanwhile
		}
		m.RSS += rss
		m.PSS += pss
		m.Procs++
	}
	return m, nil
}

// descendants returns root and every process below it.
func descendants(root int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := procPPID(pid); pp > 0 {
			children[pp] = append(children[pp], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out) && i < 100000; i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

func procPPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// rollup reads Rss and Pss of one process, in bytes.
func rollup(pid int) (rss, pss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Rss:":
			rss = kb << 10
		case "Pss:":
			pss = kb << 10
		}
	}
	return rss, pss, nil
}

// findProc returns the pid of the process whose command line contains
// every one of args, or 0.
func findProc(args ...string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		all := true
		for _, a := range args {
			if !bytes.Contains(b, []byte(a)) {
				all = false
				break
			}
		}
		if all {
			return pid
		}
	}
	return 0
}
