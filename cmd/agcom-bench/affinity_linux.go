package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// cpuSplit gives the database's server its own half of the machine's CPUs
// and everything else (the nodes, this load generator) the other half, so
// that a scenario shows what the database lets the nodes do, not how they
// share the cores with it. Linux only.
type cpuSplit struct {
	database, rest, all unix.CPUSet
	databasePids        func() []int
	restPids            func() []int
}

// newCPUSplit splits the CPUs this process may use; an error when there
// are fewer than two.
func newCPUSplit(databasePids, restPids func() []int) (*cpuSplit, error) {
	s := &cpuSplit{databasePids: databasePids, restPids: restPids}
	if err := unix.SchedGetaffinity(0, &s.all); err != nil {
		return nil, err
	}
	var cpus []int
	for c := 0; len(cpus) < s.all.Count(); c++ {
		if s.all.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return nil, errors.New("fewer than two CPUs to split")
	}
	for i, c := range cpus {
		if i < len(cpus)/2 {
			s.database.Set(c)
		} else {
			s.rest.Set(c)
		}
	}
	return s, nil
}

// apply puts the database on its CPUs and everything else on the others;
// processes the database starts meanwhile inherit its set.
func (s *cpuSplit) apply() error {
	if err := pin(s.databasePids(), &s.database); err != nil {
		return err
	}
	return pin(s.restPids(), &s.rest)
}

// undo lets every process run on every CPU again.
func (s *cpuSplit) undo() error {
	return errors.Join(pin(s.databasePids(), &s.all), pin(s.restPids(), &s.all))
}

// pin sets the CPUs every thread of the processes may run on. A thread or
// process that ended meanwhile is skipped.
func pin(pids []int, set *unix.CPUSet) error {
	for _, pid := range pids {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			continue
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("set the CPUs of process %d: %w", pid, err)
			}
		}
	}
	return nil
}
