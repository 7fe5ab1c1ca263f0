//go:build !linux

package main

import "errors"

// cpuSplit needs Linux's CPU affinity; elsewhere the scenarios that split
// the CPUs are skipped.
type cpuSplit struct{}

func newCPUSplit(_, _ func() []int) (*cpuSplit, error) {
	return nil, errors.New("splitting the CPUs needs Linux")
}

func (*cpuSplit) apply() error { return nil }
func (*cpuSplit) undo() error  { return nil }
