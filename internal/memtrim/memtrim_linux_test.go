//go:build linux

package memtrim

import (
	"bytes"
	"compress/gzip"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// touchReadOnly reads the executable's read-only data broadly: the Unicode
// tables, and the line tables of every goroutine's stack.
func touchReadOnly() int {
	n := 0
	for _, t := range unicode.Categories {
		for r := rune(0); r < 0x30000; r += 7 {
			if unicode.Is(t, r) {
				n++
			}
		}
	}
	buf := make([]byte, 1<<20)
	n += runtime.Stack(buf, true)
	return n
}

func TestReleaseDropsExecutablePages(t *testing.T) {
	t.Setenv(KeepEnv, "")
	touchReadOnly()
	st, err := Release(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.Kept || st.Mappings == 0 || st.AdvisedBytes == 0 {
		t.Fatalf("nothing advised: %+v", st)
	}
	if st.After.File >= st.Before.File {
		t.Errorf("RssFile %d KiB after, %d KiB before: no drop", st.After.File>>10, st.Before.File>>10)
	}
}

func TestReleaseKeepsPagesWhenAsked(t *testing.T) {
	t.Setenv(KeepEnv, "1")
	st, err := Release(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Kept || st.Mappings != 0 || st.AdvisedBytes != 0 {
		t.Errorf("pages advised although %s=1: %+v", KeepEnv, st)
	}
}

// TestProcessWorksAfterRelease runs code and reads data from every part
// of the executable the release dropped.
func TestProcessWorksAfterRelease(t *testing.T) {
	t.Setenv(KeepEnv, "")
	if _, err := Release(nil); err != nil {
		t.Fatal(err)
	}
	if n := touchReadOnly(); n == 0 {
		t.Error("no Unicode letters found after the release")
	}
	re := regexp.MustCompile(`(?i)\b(rele\w+)\s+(\d+)`)
	if m := re.FindStringSubmatch("we Released 42 pages"); len(m) != 3 || m[1] != "Released" || m[2] != "42" {
		t.Errorf("regexp match after release = %q", m)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	text := strings.Repeat("start-up memory ", 1000)
	_, _ = zw.Write([]byte(text))
	_ = zw.Close()
	zr, err := gzip.NewReader(&zb)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(zr)
	if err != nil || string(back) != text {
		t.Errorf("gzip round trip after release: %v", err)
	}
	// Allocate, collect, allocate again, from several goroutines.
	done := make(chan []int, 4)
	for g := range 4 {
		go func() {
			var keep [][]byte
			for i := range 2000 {
				keep = append(keep, make([]byte, 1024+i))
			}
			runtime.GC()
			xs := make([]int, 1000)
			for i := range xs {
				xs[i] = (i * 7919) % 1000
			}
			slices.Sort(xs)
			done <- append(xs[:0:0], len(keep), g)
		}()
	}
	for range 4 {
		if r := <-done; r[0] != 2000 {
			t.Errorf("goroutine %d kept %d allocations, want 2000", r[1], r[0])
		}
	}
	if _, err := Release(nil); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestIsExe(t *testing.T) {
	e := exe{path: "/usr/bin/rampart", major: 0xfe, minor: 0, inode: 42}
	tests := []struct {
		name    string
		m       mapping
		stacked bool
		want    bool
	}{
		{"same file", mapping{Path: "/usr/bin/rampart", Major: 0xfe, Inode: 42}, false, true},
		{"other path", mapping{Path: "/usr/lib/libc.so.6", Major: 0xfe, Inode: 42}, false, false},
		{"other inode", mapping{Path: "/usr/bin/rampart", Major: 0xfe, Inode: 43}, false, false},
		{"other device", mapping{Path: "/usr/bin/rampart", Major: 0x8, Minor: 1, Inode: 42}, false, false},
		{"overlay layer device", mapping{Path: "/usr/bin/rampart", Major: 0x8, Minor: 1, Inode: 42}, true, true},
		{"overlay other inode", mapping{Path: "/usr/bin/rampart", Major: 0x8, Minor: 1, Inode: 7}, true, false},
		{"anonymous", mapping{Path: "", Inode: 0}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.stacked = tt.stacked
			if got := e.isExe(&tt.m); got != tt.want {
				t.Errorf("isExe = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDevNumbers(t *testing.T) {
	// makedev(259, 2) and makedev(0xfe, 0x100) as glibc builds them.
	for _, tt := range []struct {
		dev          uint64
		major, minor uint32
	}{{0x10302, 259, 2}, {0xfe00, 0xfe, 0}, {0x10fe00, 0xfe, 0x100}} {
		if ma, mi := devMajor(tt.dev), devMinor(tt.dev); ma != tt.major || mi != tt.minor {
			t.Errorf("dev %#x = %d:%d, want %d:%d", tt.dev, ma, mi, tt.major, tt.minor)
		}
	}
}
