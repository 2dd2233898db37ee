package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/rampart-gw/rampart/internal/store"
)

// maxSpoolLine bounds one spooled record when it is read back.
const maxSpoolLine = 1 << 20

// spool is an append-only file of records as JSON lines. Appends are
// written at once and fsynced in batches; replay renames the file aside so
// that appends go on while it is read.
type spool struct {
	path  string
	mu    sync.Mutex
	f     *os.File
	dirty bool
	rmu   sync.Mutex // serialises replays
}

func openSpool(path string) (*spool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit spool: %w", err)
	}
	s := &spool{path: path}
	if err := s.reopen(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *spool) reopen() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	s.f = f
	return nil
}

// append writes rs as JSON lines; with sync it also fsyncs the file.
func (s *spool) append(rs []*store.AuditRecord, sync bool) error {
	var buf []byte
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if err := s.reopen(); err != nil {
			return err
		}
	}
	if _, err := s.f.Write(buf); err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	s.dirty = true
	if sync {
		return s.syncLocked()
	}
	return nil
}

func (s *spool) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

func (s *spool) syncLocked() error {
	if !s.dirty || s.f == nil {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	s.dirty = false
	return nil
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.syncLocked()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

// replay hands the spooled records to insert in batches and removes them
// once inserted. A failed insert leaves the rest for the next replay; the
// store skips records it already has, so a record is never lost or doubled.
func (s *spool) replay(insert func([]*store.AuditRecord) error, batch int) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	aside := s.path + ".replay"
	if _, err := os.Stat(aside); errors.Is(err, fs.ErrNotExist) {
		if err := s.rotate(aside); err != nil || !exists(aside) {
			return 0, err
		}
	}
	n, err := replayFile(aside, insert, batch)
	if err != nil {
		return n, err
	}
	return n, os.Remove(aside)
}

// rotate renames a non-empty spool to aside and starts a new one.
func (s *spool) rotate(aside string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := os.Stat(s.path)
	if err != nil || st.Size() == 0 {
		return nil
	}
	if err := s.syncLocked(); err != nil {
		return err
	}
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
	if err := os.Rename(s.path, aside); err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	return s.reopen()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func replayFile(path string, insert func([]*store.AuditRecord) error, batch int) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("audit spool: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxSpoolLine)
	var rs []*store.AuditRecord
	n := 0
	flush := func() error {
		if len(rs) == 0 {
			return nil
		}
		if err := insert(rs); err != nil {
			return err
		}
		n += len(rs)
		rs = rs[:0]
		return nil
	}
	for sc.Scan() {
		r, err := ParseSpoolLine(sc.Bytes())
		if err != nil {
			// A torn last line from a crash mid-write: nothing was
			// acknowledged for it.
			continue
		}
		rs = append(rs, r)
		if len(rs) >= batch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("audit spool: %w", err)
	}
	return n, nil
}

// ParseSpoolLine decodes one spooled record.
func ParseSpoolLine(b []byte) (*store.AuditRecord, error) {
	var r store.AuditRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("audit spool line: %w", err)
	}
	if r.RequestID == "" {
		return nil, errors.New("audit spool line: no request id")
	}
	return &r, nil
}
