package runner

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// readProcStat parses /proc/<pid>/stat. The command name may hold spaces
// and parentheses, so fields are counted after its last ')'.
func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse stat of pid %d: no command name", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 {
		return procStat{}, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(fields))
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procStat{}, fmt.Errorf("parse stat of pid %d: %w", pid, err)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse stat of pid %d: %w", pid, err)
	}
	return procStat{PPID: ppid, State: fields[0][0], Start: start}, nil
}

// selfIdentity returns the identity of the calling process.
func selfIdentity() (procIdentity, error) {
	pid := os.Getpid()
	st, err := readProcStat(pid)
	if err != nil {
		return procIdentity{}, fmt.Errorf("read own process stat: %w", err)
	}
	return procIdentity{PID: pid, Start: st.Start}, nil
}

// allProcesses returns every visible process's stat, keyed by pid.
func allProcesses() map[int]procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	procs := make(map[int]procStat, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil {
			procs[pid] = st
		}
	}
	return procs
}

// liveDescendants returns the pids of every live (non-zombie) process below
// root in the process tree.
func liveDescendants(procs map[int]procStat, root int) []int {
	children := make(map[int][]int)
	for pid, st := range procs {
		children[st.PPID] = append(children[st.PPID], pid)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if procs[c].State != 'Z' && procs[c].State != 'X' {
				out = append(out, c)
			}
			queue = append(queue, c)
		}
	}
	return out
}

// runProcesses returns the pids of live processes whose environment holds
// FERRY_RUN_ID=runID: what is left of a run even when a process escaped the
// process tree (another subreaper, a lost shim).
func runProcesses(procs map[int]procStat, runID string) []int {
	return processesWithEnv(procs, envRunID+"="+runID)
}

// processesWithEnv returns the pids of live processes other than this one
// whose environment holds the variable kv ("K=V").
func processesWithEnv(procs map[int]procStat, kv string) []int {
	needle := []byte("\x00" + kv + "\x00")
	self := os.Getpid()
	var out []int
	for pid, st := range procs {
		if pid == self || st.State == 'Z' || st.State == 'X' {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil || len(env) == 0 {
			continue
		}
		env = append(append([]byte{0}, env...), 0)
		if bytes.Contains(env, needle) {
			out = append(out, pid)
		}
	}
	return out
}

// killRunProcesses sends SIGKILL to every live process carrying runID and
// returns how many it signalled. The runner uses it to clean up after a shim
// that died without finishing its job.
func killRunProcesses(runID string) int {
	pids := runProcesses(allProcesses(), runID)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}
