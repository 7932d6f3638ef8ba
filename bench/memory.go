package bench

import (
	"fmt"
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
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", q))
		if err != nil {
			if i == 0 {
				return 0, err
			}
			continue // a child that exited meanwhile
		}
		// The fields after the command's ")": state is the first, then
		// utime, stime, cutime and cstime are the 12th to the 15th.
		_, rest, ok := strings.Cut(string(raw), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 15 {
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

func descendants(pid int) []int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(raw)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(append(out, c), descendants(c)...)
		}
	}
	return out
}
