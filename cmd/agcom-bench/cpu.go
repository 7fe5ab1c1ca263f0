package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuMeter measures, over a scenario, how busy the machine's CPUs were and
// which processes used them (Linux /proc; elsewhere it measures nothing):
// with the lock samples, it tells a send bound by the cores from one bound
// by the database.
type cpuMeter struct {
	machine0 machineTicks
	groups   []cpuGroup
}

// cpuGroup is a set of processes counted together, such as a store's
// server processes.
type cpuGroup struct {
	name  string
	pids  func() []int
	ticks map[int]int64 // at the start, per process
}

// cpuUse is what a cpuMeter measured: the share of the machine's CPU time
// that was busy, and each group's share of it.
type cpuUse struct {
	busy   float64
	groups []groupUse
}

type groupUse struct {
	name  string
	share float64
}

type machineTicks struct{ busy, total int64 }

// startCPU starts measuring the groups; nil when /proc cannot be read.
func startCPU(groups ...cpuGroup) *cpuMeter {
	m, err := readMachineTicks()
	if err != nil {
		return nil
	}
	c := &cpuMeter{machine0: m, groups: groups}
	for i := range c.groups {
		g := &c.groups[i]
		g.ticks = map[int]int64{}
		for _, pid := range g.pids() {
			g.ticks[pid] = processTicks(pid)
		}
	}
	return c
}

// stop returns what was used since start. A process that started since
// counts from zero; one that ended is left out.
func (c *cpuMeter) stop() *cpuUse {
	if c == nil {
		return nil
	}
	m, err := readMachineTicks()
	total := m.total - c.machine0.total
	if err != nil || total <= 0 {
		return nil
	}
	u := &cpuUse{busy: float64(m.busy-c.machine0.busy) / float64(total)}
	for _, g := range c.groups {
		var used int64
		for _, pid := range g.pids() {
			used += processTicks(pid) - g.ticks[pid]
		}
		u.groups = append(u.groups, groupUse{g.name, float64(used) / float64(total)})
	}
	return u
}

func (u *cpuUse) String() string {
	parts := make([]string, len(u.groups))
	for i, g := range u.groups {
		parts[i] = fmt.Sprintf("%s %.0f%%", g.name, 100*g.share)
	}
	return fmt.Sprintf("the CPUs were %.0f%% busy (%s)", 100*u.busy, strings.Join(parts, ", "))
}

// readMachineTicks reads the CPU time of all CPUs from /proc/stat: busy is
// all but idle and I/O wait.
func readMachineTicks() (machineTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTicks{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return machineTicks{}, fmt.Errorf("/proc/stat: unexpected %q", line)
	}
	var t machineTicks
	for i, f := range fields[1:] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return machineTicks{}, err
		}
		// guest and guest_nice (9th and 10th) are already in user and nice.
		if i >= 8 {
			break
		}
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t, nil
}

// processTicks is the user and system CPU time pid has used, in the same
// ticks as /proc/stat; 0 when it cannot be read.
func processTicks(pid int) int64 {
	fields := procStat(fmt.Sprintf("/proc/%d/stat", pid))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime
}

// procStat reads a process's /proc/PID/stat from its state on (field 3,
// so that parent is [1], utime [11] and stime [12]); nil when it cannot.
// The command name before it, in parentheses, may hold spaces.
func procStat(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// childrenOf lists parent and the processes whose parent it is, such as a
// PostgreSQL server and its backends (not those of another server on the
// same machine).
func childrenOf(parent int) func() []int {
	return func() []int {
		out := []int{parent}
		dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, p := range dirs {
			if fields := procStat(p); len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
				if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
					out = append(out, pid)
				}
			}
		}
		return out
	}
}

// parentOf is pid's parent process; 0 when it cannot be read.
func parentOf(pid int) int {
	fields := procStat(fmt.Sprintf("/proc/%d/stat", pid))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}
