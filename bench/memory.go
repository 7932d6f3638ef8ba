package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Process is the memory one process of the stack holds, for stacks whose
// parts run as separate processes (the cluster: api, workers, Temporal
// nodes, PostgreSQL).
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// RSSBytes is the process's own resident memory.
	RSSBytes int64 `json:"rss_bytes"`
	// PSSBytes is the proportional set size of the process and every process
	// below it: shared pages are split between their sharers, so a
	// PostgreSQL server's postmaster and backends add up honestly.
	PSSBytes int64 `json:"pss_bytes"`
}

// MeasureProcess reads a process's memory from /proc.
func MeasureProcess(name string, pid int) (Process, error) {
	p := Process{Name: name, PID: pid}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("%s (pid %d): %w", name, pid, err)
	}
	p.RSSBytes = procKB(string(status), "VmRSS:")
	for _, q := range append([]int{pid}, descendants(pid)...) {
		rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", q))
		if err != nil {
			continue // a child that exited meanwhile
		}
		p.PSSBytes += procKB(string(rollup), "Pss:")
	}
	return p, nil
}

// userHZ is the unit of the CPU times in /proc/PID/stat: the kernel's
// USER_HZ, which is 100 on every Linux architecture Go supports.
const userHZ = 100

// ProcessCPU is the CPU time, user and system, a process has used, with
// that of its children it waited for and of its descendants still
// running (a PostgreSQL server's backends).
func ProcessCPU(pid int) (time.Duration, error) {
	var total time.Duration
	for i, q := range append([]int{pid}, descendants(pid)...) {
		f, err := stat(q)
		if err != nil {
			if i == 0 || !errors.Is(err, fs.ErrNotExist) {
				return 0, err
			}
			continue // a child that exited meanwhile
		}
		// utime, stime, cutime and cstime are the 12th to the 15th fields
		// after the command's name.
		if len(f) < 15 {
			return 0, fmt.Errorf("/proc/%d/stat: unexpected format", q)
		}
		for _, v := range f[11:15] {
			ticks, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/stat: %w", q, err)
			}
			total += time.Duration(ticks) * time.Second / userHZ
		}
	}
	return total, nil
}

// procKB reads a "Key:   123 kB" line of a /proc file, in bytes.
func procKB(text, key string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// stat is the fields of /proc/PID/stat after the command's name, which is
// in parentheses and may itself hold one: they start after the last ")"
// (proc(5)), with the state, then the parent's pid.
func stat(pid int) ([]string, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	end := strings.LastIndexByte(string(raw), ')')
	if end < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return strings.Fields(string(raw)[end+1:]), nil
}

// descendants are the processes below pid, found by their parents' pids
// in /proc, which see every child whichever thread forked it.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		q, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := stat(q); err == nil && len(f) > 1 {
			if parent, err := strconv.Atoi(f[1]); err == nil {
				children[parent] = append(children[parent], q)
			}
		}
	}
	var out []int
	for next := children[pid]; len(next) > 0; {
		q := next[0]
		next = append(next[1:], children[q]...)
		out = append(out, q)
	}
	return out
}
