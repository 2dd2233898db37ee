package bench

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPUTicks(t *testing.T) {
	t.Parallel()
	// Fields 3..15 of a real line: state, ppid, pgrp, session, tty_nr,
	// tpgid, flags, minflt, cminflt, majflt, cmajflt, utime, stime.
	const rest = " S 1 2 3 4 5 6 7 8 9 10 1500 250 0 0 20 0 1 0 100 2000 300"
	tests := []struct {
		desc    string
		data    string
		want    uint64
		wantErr bool
	}{
		{"plain name", "1234 (rampart)" + rest, 1750, false},
		{"name with spaces and parentheses", "1234 (a) b (c)" + rest, 1750, false},
		{"name with a closing parenthesis and digits", "1234 (x) 9 9 9)" + rest, 1750, false},
		{"no name", "1234 rampart S 1 2", 0, true},
		{"too few fields", "1234 (rampart) S 1 2 3", 0, true},
		{"utime not a number", "1234 (rampart) S 1 2 3 4 5 6 7 8 9 10 x 250", 0, true},
		{"stime negative", "1234 (rampart) S 1 2 3 4 5 6 7 8 9 10 1 -2", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatCPUTicks([]byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatCPUTicks() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatCPUTicks() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestProcessCPUOfSelf(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's 10 ms tick has certainly counted some.
	deadline := time.Now().Add(2 * time.Second)
	after := before
	for x := 0; after-before < 20*time.Millisecond && time.Now().Before(deadline); x++ {
		for i := range 1_000_000 {
			x ^= i * 31
		}
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after-before < 20*time.Millisecond {
		t.Errorf("CPU time grew by %v after 2s of busy loop, want at least 20ms", after-before)
	}
}

func TestParseStatusRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		data    string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\trampart\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 100 kB\n", 12345, false},
		{"last line without newline", "Name:\tx\nVmRSS:\t7 kB", 7, false},
		{"kernel thread has none", "Name:\tkthreadd\nState:\tS\n", 0, true},
		{"wrong unit", "VmRSS:\t12 MB\n", 0, true},
		{"not a number", "VmRSS:\tmany kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatusRSS([]byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatusRSS() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStatusRSS() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestProcessRSSOfSelf(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	kb, err := processRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A Go test binary is never smaller than 1 MiB or larger than 8 GiB.
	if kb < 1024 || kb > 8<<20 {
		t.Errorf("processRSS(self) = %d KiB, want a plausible size", kb)
	}
}

func TestProcessOfMissingPID(t *testing.T) {
	t.Parallel()
	// PIDs never reach 2^30 on Linux (pid_max is at most 2^22).
	if _, err := processCPU(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("processCPU(missing) error = %v, want not-exist", err)
	}
	if _, err := processRSS(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("processRSS(missing) error = %v, want not-exist", err)
	}
}

func FuzzParseStatCPUTicks(f *testing.F) {
	f.Add([]byte("1234 (rampart) S 1 2 3 4 5 6 7 8 9 10 1500 250 0 0 20 0 1 0 100 2000 300"))
	f.Add([]byte("1 (a) b) R 0 0 0 0 0 0 0 0 0 0 18446744073709551615 1"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ticks, err := parseStatCPUTicks(data)
		if err != nil && ticks != 0 {
			t.Errorf("error %v with ticks %d, want 0", err, ticks)
		}
		if err == nil && !strings.Contains(string(data), ")") {
			t.Errorf("accepted %q without a command name", data)
		}
	})
}

func FuzzParseStatusRSS(f *testing.F) {
	f.Add([]byte("Name:\trampart\nVmRSS:\t   12345 kB\n"))
	f.Add([]byte("VmRSS:\t-1 kB"))
	f.Add([]byte("VmRSS:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kb, err := parseStatusRSS(data)
		if err == nil && !strings.Contains(string(data), "VmRSS:") {
			t.Errorf("accepted %q without VmRSS", data)
		}
		if err != nil && kb != 0 {
			t.Errorf("error %v with %d KiB, want 0", err, kb)
		}
	})
}

func BenchmarkProcessCPU(b *testing.B) {
	b.ReportAllocs()
	pid := os.Getpid()
	for b.Loop() {
		if _, err := processCPU(pid); err != nil {
			b.Fatal(err)
		}
	}
}
