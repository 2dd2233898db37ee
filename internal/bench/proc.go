package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/PID/stat. The kernel fixes it at 100 on every architecture Go
// supports on Linux, whatever CONFIG_HZ is, so there is no need for sysconf.
const clockTicksPerSecond = 100

// errProcFormat reports a /proc file that does not have the expected shape.
var errProcFormat = errors.New("unexpected /proc format")

// processCPU returns the user plus system CPU time used so far by process pid.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu of process %d: %w", pid, err)
	}
	ticks, err := parseStatCPUTicks(data)
	if err != nil {
		return 0, fmt.Errorf("read cpu of process %d: %w", pid, err)
	}
	return time.Duration(ticks) * (time.Second / clockTicksPerSecond), nil
}

// parseStatCPUTicks returns utime+stime, in clock ticks, from the contents
// of /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPUTicks(data []byte) (uint64, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat: no command name: %w", errProcFormat)
	}
	// After the name come field 3 (state) onwards; utime and stime are
	// fields 14 and 15, so indexes 11 and 12 here.
	fields := bytes.Fields(data[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name: %w", len(fields), errProcFormat)
	}
	utime, err := strconv.ParseUint(string(fields[11]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: utime: %w", err)
	}
	stime, err := strconv.ParseUint(string(fields[12]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: stime: %w", err)
	}
	return utime + stime, nil
}

// processRSS returns the resident set size of process pid in KiB.
func processRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss of process %d: %w", pid, err)
	}
	kb, err := parseStatusRSS(data)
	if err != nil {
		return 0, fmt.Errorf("read rss of process %d: %w", pid, err)
	}
	return kb, nil
}

// parseStatusRSS returns the VmRSS value, in KiB, from the contents of
// /proc/PID/status, where it appears as a line "VmRSS:   12345 kB".
func parseStatusRSS(data []byte) (int64, error) {
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, fmt.Errorf("status: VmRSS line %q: %w", line, errProcFormat)
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status: VmRSS: %w", err)
		}
		return kb, nil
	}
	return 0, fmt.Errorf("status: no VmRSS line: %w", errProcFormat)
}
