// Package memtrim gives back the memory the process touched while it
// started and does not use once it serves.
//
// Package initialisation and the building of a configuration touch code
// and read-only data all over the executable; the kernel maps file pages
// in blocks of 64 KiB or more around every page touched, so a gateway
// ready to serve holds tens of MiB of its own executable that it will not
// read again. Release drops those pages from the process's page tables
// with madvise(MADV_DONTNEED) over the executable's read-only mappings,
// and returns freed heap to the system.
//
// This is what the kernel does to such pages under memory pressure anyway:
// they are clean and backed by the executable file, they stay in the page
// cache, and a code path used again costs a minor page fault. What is
// resident afterwards is what the process really uses while it runs.
// Writable mappings (.data, .bss, the heap) are never touched, and
// neither is a read-only mapping that holds private copies of pages (a
// relocated region made read-only after the dynamic loader wrote it),
// whose contents exist nowhere else.
package memtrim

import (
	"bytes"
	"errors"
	"strconv"
)

// KeepEnv is the environment variable that, set to 1 (or true), keeps the
// executable's pages mapped: Release then only returns freed heap.
const KeepEnv = "RAMPART_KEEP_STARTUP_PAGES"

// RSS is the resident memory of the process, in bytes, as
// /proc/self/status reports it.
type RSS struct {
	Total int64 // VmRSS
	Anon  int64 // RssAnon
	File  int64 // RssFile
}

// Stats is what Release did.
type Stats struct {
	Before, After RSS
	// Mappings is how many of the executable's read-only mappings were
	// advised, AdvisedBytes their total size.
	Mappings     int
	AdvisedBytes int64
	// Skipped counts read-only mappings of the executable left alone
	// because they hold private (copied) pages.
	Skipped int
	// Kept is true when KeepEnv asked to keep the pages.
	Kept bool
}

// mapping is one line of /proc/self/maps, with the Anonymous and Swap
// sizes that /proc/self/smaps adds below it.
type mapping struct {
	Start, End uint64
	Perms      string
	Offset     uint64
	// Major and Minor are the device, Inode the file's inode.
	Major, Minor uint32
	Inode        uint64
	Path         string
	// Anon and Swap are in KiB; -1 when the input had no such line
	// (/proc/self/maps rather than smaps).
	Anon, Swap int64
}

// readOnly reports whether the mapping can never be written through.
func (m *mapping) readOnly() bool {
	return len(m.Perms) >= 2 && m.Perms[1] != 'w'
}

var errFormat = errors.New("memtrim: unexpected format")

// parseMaps parses /proc/self/maps or /proc/self/smaps. A mapping line is
//
//	start-end perms offset major:minor inode [path]
//
// with hexadecimal start, end, offset and device and a decimal inode; the
// path runs to the end of the line and may contain spaces. In smaps, lines
// "Key: value kB" follow each mapping line; Anonymous and Swap are kept,
// others skipped.
func parseMaps(data []byte) ([]mapping, error) {
	var out []mapping
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		if key, val, ok := smapsField(line); ok {
			if len(out) == 0 {
				return nil, errFormat
			}
			m := &out[len(out)-1]
			switch key {
			case "Anonymous":
				m.Anon = val
			case "Swap":
				m.Swap = val
			}
			continue
		}
		m, err := parseMapLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// smapsField recognises an smaps line "Key:   123 kB" (or a line of
// another value, such as VmFlags, whose value is then -1). A mapping line
// never has a colon in its first field.
func smapsField(line []byte) (string, int64, bool) {
	key, rest, ok := bytes.Cut(line, []byte{':'})
	if !ok || len(key) == 0 || bytes.ContainsAny(key, " -") {
		return "", 0, false
	}
	f := bytes.Fields(rest)
	if len(f) == 2 && string(f[1]) == "kB" {
		if v, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil && v >= 0 {
			return string(key), v, true
		}
	}
	return string(key), -1, true
}

func parseMapLine(line []byte) (mapping, error) {
	m := mapping{Anon: -1, Swap: -1}
	var fields [5][]byte
	rest := line
	for i := range fields {
		rest = bytes.TrimLeft(rest, " \t")
		j := bytes.IndexAny(rest, " \t")
		if j < 0 {
			j = len(rest)
		}
		fields[i], rest = rest[:j], rest[j:]
		if len(fields[i]) == 0 {
			return m, errFormat
		}
	}
	start, end, ok := bytes.Cut(fields[0], []byte{'-'})
	if !ok {
		return m, errFormat
	}
	var err error
	if m.Start, err = strconv.ParseUint(string(start), 16, 64); err != nil {
		return m, errFormat
	}
	if m.End, err = strconv.ParseUint(string(end), 16, 64); err != nil || m.End < m.Start {
		return m, errFormat
	}
	if len(fields[1]) != 4 {
		return m, errFormat
	}
	m.Perms = string(fields[1])
	if m.Offset, err = strconv.ParseUint(string(fields[2]), 16, 64); err != nil {
		return m, errFormat
	}
	major, minor, ok := bytes.Cut(fields[3], []byte{':'})
	if !ok {
		return m, errFormat
	}
	maj, err1 := strconv.ParseUint(string(major), 16, 32)
	mnr, err2 := strconv.ParseUint(string(minor), 16, 32)
	if err1 != nil || err2 != nil {
		return m, errFormat
	}
	m.Major, m.Minor = uint32(maj), uint32(mnr)
	if m.Inode, err = strconv.ParseUint(string(fields[4]), 10, 64); err != nil {
		return m, errFormat
	}
	m.Path = string(bytes.TrimLeft(rest, " \t"))
	return m, nil
}

// parseStatus reads VmRSS, RssAnon and RssFile from /proc/self/status.
func parseStatus(data []byte) (RSS, error) {
	var r RSS
	seen := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		key, val, ok := smapsField(line)
		if !ok || val < 0 {
			continue
		}
		switch key {
		case "VmRSS":
			r.Total = val << 10
		case "RssAnon":
			r.Anon = val << 10
		case "RssFile":
			r.File = val << 10
		default:
			continue
		}
		seen++
	}
	if seen == 0 {
		return r, errFormat
	}
	return r, nil
}
