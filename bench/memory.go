package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
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
