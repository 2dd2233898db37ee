//go:build linux

package memtrim

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
)

// Release returns freed heap to the system, then drops the executable's
// read-only pages from the process's page tables, unless KeepEnv is set.
// It logs one line with the resident memory before and after.
func Release(log *slog.Logger) (Stats, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st Stats
	before, err := readRSS()
	if err != nil {
		return st, err
	}
	st.Before = before
	debug.FreeOSMemory()
	if keep, _ := strconv.ParseBool(os.Getenv(KeepEnv)); keep {
		st.Kept = true
	} else if err := adviseExecutable(&st); err != nil {
		return st, err
	}
	if st.After, err = readRSS(); err != nil {
		return st, err
	}
	log.Info("released start-up memory",
		"rss_before_mib", mib(st.Before.Total), "rss_after_mib", mib(st.After.Total),
		"file_before_mib", mib(st.Before.File), "file_after_mib", mib(st.After.File),
		"anon_before_mib", mib(st.Before.Anon), "anon_after_mib", mib(st.After.Anon),
		"advised_mib", mib(st.AdvisedBytes), "kept_pages", st.Kept)
	return st, nil
}

func mib(b int64) float64 { return float64(b*10>>20) / 10 }

func readRSS() (RSS, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return RSS{}, err
	}
	r, err := parseStatus(b)
	if err != nil {
		return r, fmt.Errorf("/proc/self/status: %w", err)
	}
	return r, nil
}

// exe identifies the executable file.
type exe struct {
	path         string
	major, minor uint32
	inode        uint64
	// stacked is true on overlayfs, where /proc/self/maps shows the
	// device of the layer the file comes from, not the overlay's.
	stacked bool
}

// overlayfsMagic is OVERLAYFS_SUPER_MAGIC, the f_type of overlayfs.
const overlayfsMagic = 0x794c7630

func findExe() (exe, error) {
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return exe{}, err
	}
	var s syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &s); err != nil {
		return exe{}, err
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/proc/self/exe", &fs); err != nil {
		return exe{}, err
	}
	return exe{path: p, major: devMajor(s.Dev), minor: devMinor(s.Dev), inode: s.Ino, stacked: fs.Type == overlayfsMagic}, nil
}

// devMajor and devMinor split a Linux dev_t as glibc's gnu_dev_major and
// gnu_dev_minor do.
func devMajor(d uint64) uint32 { return uint32((d>>8)&0xfff | (d>>32)&^0xfff) }
func devMinor(d uint64) uint32 { return uint32(d&0xff | (d>>12)&^0xff) }

// isExe reports whether m maps the executable: same path, and the same
// inode. The device must match too, unless the file lives on overlayfs
// (containers), where the maps show the underlying file's device and stat
// the overlay's.
func (e exe) isExe(m *mapping) bool {
	return m.Path == e.path && m.Inode == e.inode &&
		(e.stacked || m.Major == e.major && m.Minor == e.minor)
}

// adviseExecutable applies MADV_DONTNEED to every read-only mapping of the
// executable that holds no private pages.
func adviseExecutable(st *Stats) error {
	e, err := findExe()
	if err != nil {
		return err
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return err
	}
	maps, err := parseMaps(b)
	if err != nil {
		return fmt.Errorf("/proc/self/smaps: %w", err)
	}
	for i := range maps {
		m := &maps[i]
		if !e.isExe(m) || !m.readOnly() {
			continue
		}
		// Private copies exist nowhere else: dropping them would bring
		// back the file's bytes. Without the counts, do not guess.
		if m.Anon != 0 || m.Swap != 0 {
			st.Skipped++
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.Start), uintptr(m.End-m.Start), syscall.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("madvise %x-%x: %w", m.Start, m.End, errno)
		}
		st.Mappings++
		st.AdvisedBytes += int64(m.End - m.Start)
	}
	if st.Mappings == 0 && st.Skipped == 0 {
		return fmt.Errorf("no mapping of the executable %s (device %d:%d, inode %d) found", e.path, e.major, e.minor, e.inode)
	}
	return nil
}
