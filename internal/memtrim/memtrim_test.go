package memtrim

import (
	"errors"
	"reflect"
	"testing"
)

const smapsSample = `00400000-01a08000 r-xp 00000000 fe:00 10125390                           /tmp/idle/rampart
Size:              22560 kB
Rss:                8496 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me dw sd
01a08000-03b42000 r--p 01608000 fe:00 10125390                           /tmp/idle/rampart
Anonymous:             4 kB
Swap:                  0 kB
03b42000-03d3f000 rw-p 03742000 fe:00 10125390                           /tmp/idle/rampart
Anonymous:           196 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
7ffd1c5e2000-7ffd1c603000 rw-p 00000000 00:00 0                          [stack]
7f00aa000000-7f00aa001000 r--p 00000000 103:02 42   /opt/my app/bin (deleted)
`

func TestParseMaps(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []mapping
		err  bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "maps line", in: "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n",
			want: []mapping{{Start: 0x400000, End: 0x452000, Perms: "r-xp", Major: 8, Minor: 2, Inode: 173521, Path: "/usr/bin/dbus-daemon", Anon: -1, Swap: -1}}},
		{name: "no path, no newline", in: "7f0000000000-7f0000001000 ---p 00000000 00:00 0",
			want: []mapping{{Start: 0x7f0000000000, End: 0x7f0000001000, Perms: "---p", Inode: 0, Anon: -1, Swap: -1}}},
		{name: "smaps", in: smapsSample, want: []mapping{
			{Start: 0x400000, End: 0x1a08000, Perms: "r-xp", Major: 0xfe, Inode: 10125390, Path: "/tmp/idle/rampart", Anon: 0, Swap: 0},
			{Start: 0x1a08000, End: 0x3b42000, Perms: "r--p", Offset: 0x1608000, Major: 0xfe, Inode: 10125390, Path: "/tmp/idle/rampart", Anon: 4, Swap: 0},
			{Start: 0x3b42000, End: 0x3d3f000, Perms: "rw-p", Offset: 0x3742000, Major: 0xfe, Inode: 10125390, Path: "/tmp/idle/rampart", Anon: 196, Swap: -1},
			{Start: 0xc000000000, End: 0xc004000000, Perms: "rw-p", Anon: -1, Swap: -1},
			{Start: 0x7ffd1c5e2000, End: 0x7ffd1c603000, Perms: "rw-p", Path: "[stack]", Anon: -1, Swap: -1},
			{Start: 0x7f00aa000000, End: 0x7f00aa001000, Perms: "r--p", Major: 0x103, Minor: 2, Inode: 42, Path: "/opt/my app/bin (deleted)", Anon: -1, Swap: -1},
		}},
		{name: "field before any mapping", in: "Anonymous: 0 kB\n", err: true},
		{name: "end before start", in: "00452000-00400000 r-xp 00000000 08:02 1 /x\n", err: true},
		{name: "no dash", in: "00400000 r-xp 00000000 08:02 1 /x\n", err: true},
		{name: "bad hex", in: "0040z000-00452000 r-xp 00000000 08:02 1 /x\n", err: true},
		{name: "short perms", in: "00400000-00452000 rx 00000000 08:02 1 /x\n", err: true},
		{name: "bad device", in: "00400000-00452000 r-xp 00000000 0802 1 /x\n", err: true},
		{name: "bad inode", in: "00400000-00452000 r-xp 00000000 08:02 x1 /x\n", err: true},
		{name: "too few fields", in: "00400000-00452000 r-xp 00000000\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMaps([]byte(tt.in))
			if tt.err {
				if !errors.Is(err, errFormat) {
					t.Fatalf("err = %v, want errFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want RSS
		err  bool
	}{
		{name: "status", in: "Name:\trampart\nVmRSS:\t   52900 kB\nRssAnon:\t   13000 kB\nRssFile:\t   39000 kB\nRssShmem:\t       0 kB\n",
			want: RSS{Total: 52900 << 10, Anon: 13000 << 10, File: 39000 << 10}},
		{name: "only VmRSS", in: "VmRSS: 10 kB\n", want: RSS{Total: 10 << 10}},
		{name: "none", in: "Name:\trampart\nState:\tS (sleeping)\n", err: true},
		{name: "bad number", in: "VmRSS:\t12x kB\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.in))
			if tt.err {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	for perms, want := range map[string]bool{"r-xp": true, "r--p": true, "---p": true, "rw-p": false, "rwxp": false, "r--s": true, "": false} {
		m := mapping{Perms: perms}
		if got := m.readOnly(); got != want {
			t.Errorf("readOnly(%q) = %v, want %v", perms, got, want)
		}
	}
}

func FuzzParseMaps(f *testing.F) {
	f.Add([]byte(smapsSample))
	f.Add([]byte("00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"))
	f.Add([]byte("7f0000000000-7f0000001000 ---p 00000000 00:00 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := parseMaps(data)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.End < m.Start || len(m.Perms) != 4 || m.Anon < -1 || m.Swap < -1 {
				t.Fatalf("invalid mapping %+v from %q", m, data)
			}
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Name:\trampart\nVmRSS:\t   52900 kB\nRssAnon:\t   13000 kB\nRssFile:\t   39000 kB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseStatus(data)
		if err == nil && (r.Total < 0 || r.Anon < 0 || r.File < 0) {
			t.Fatalf("negative size %+v from %q", r, data)
		}
	})
}
