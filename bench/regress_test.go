package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// /proc/PID/stat puts the command's name in parentheses, and the name may
// itself hold ") " (a program named so, or one that renames itself):
// proc(5) says to read the fields after the last ")". ProcessCPU cuts at
// the first, and so reads other fields as CPU times: a program started a
// moment ago has used hours.
func TestProcessCPUReadsPastTheLastParenthesis(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	raw, err := os.ReadFile(sleep)
	require.NoError(t, err)
	odd := filepath.Join(t.TempDir(), "x) 9 9 9 9 9 9 9")
	require.NoError(t, os.WriteFile(odd, raw, 0o755))
	cmd := exec.Command(odd, "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool { // the exec is done: /proc shows the new name
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		return strings.HasPrefix(string(comm), "x) 9")
	}, 10*time.Second, 10*time.Millisecond)

	used, err := ProcessCPU(cmd.Process.Pid)
	require.NoError(t, err)
	require.Less(t, used, time.Second, "a sleep started a moment ago has used %s of CPU", used)
}

// A comparison that resolves ±9% cannot tell 0.92 from 0.83: it cannot
// say the interpreter is within 10% of the hand-written workflow. Check
// judges it (the resolution is under the target) and finds nothing short,
// so the bench passes a throughput it did not resolve. A pass needs the
// ratio above the target by the resolution; below it by less is unresolved.
func TestAThroughputWithinTheResolutionOfTheTargetIsNotAPass(t *testing.T) {
	r := fine()
	r.Overhead.Calibration.Same = 1.09 // within the calibration's tolerance
	r.Overhead.ThroughputRatio = 0.92
	require.InDelta(t, 0.09, r.Overhead.Calibration.Resolution(), 1e-9)
	require.True(t, !r.Judged() || len(r.Check()) > 0,
		"a ratio of 0.92 resolved to ±0.09 is judged to meet the target of 0.90")
}

// The resolution is the error the harness made where the answer was
// known, but not the spread of the comparison judged: rounds of the
// interpreter against the baseline at 0.70, 0.95 and 1.20 have the median
// 0.95 and pass, though they disagree by a quarter either way.
func TestTheJudgedComparisonsOwnSpreadCounts(t *testing.T) {
	r := fine()
	r.Overhead.RoundRatios = []float64{0.70, 0.95, 1.20}
	r.Overhead.ThroughputRatio = 0.95
	require.False(t, r.Judged() && len(r.Check()) == 0,
		"rounds from 0.70 to 1.20 (resolution %.2f) are judged a pass", r.Overhead.Calibration.Resolution())
}
