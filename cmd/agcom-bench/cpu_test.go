package main

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestCPUMeter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if got := parentOf(os.Getpid()); got != os.Getppid() {
		t.Errorf("parentOf(self) = %d, want %d", got, os.Getppid())
	}
	if kids := childrenOf(os.Getppid())(); !slices.Contains(kids, os.Getpid()) || kids[0] != os.Getppid() {
		t.Errorf("childrenOf(parent) = %v, want the parent then this process among them", kids)
	}
	m := startCPU(cpuGroup{name: "self", pids: func() []int { return []int{os.Getpid()} }})
	if m == nil {
		t.Fatal("no /proc/stat")
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	u := m.stop()
	if u == nil || u.busy <= 0 || len(u.groups) != 1 || u.groups[0].share <= 0 || u.groups[0].share > u.busy+0.01 {
		t.Fatalf("300 ms of spinning: %+v", u)
	}
	t.Log(u)
}
