package keys

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Options{})
	for _, c := range []struct {
		desc string
		in   CreateInput
		ok   bool
	}{
		{"minimal", CreateInput{Name: "ci"}, true},
		{"full", CreateInput{Name: "ci", Team: "search", Models: []string{"deepseek-*", "r1"}, ExpiresIn: 720 * time.Hour}, true},
		{"no name", CreateInput{Team: "x"}, false},
		{"long name", CreateInput{Name: strings.Repeat("n", maxNameLen+1)}, false},
		{"control character", CreateInput{Name: "a\nb"}, false},
		{"invalid utf-8 team", CreateInput{Name: "a", Team: "\xff"}, false},
		{"empty model", CreateInput{Name: "a", Models: []string{""}}, false},
		{"bad glob", CreateInput{Name: "a", Models: []string{"[a-"}}, false},
		{"too many models", CreateInput{Name: "a", Models: make([]string, maxModels+1)}, false},
		{"negative expiry", CreateInput{Name: "a", ExpiresIn: -time.Second}, false},
		{"expiry too far", CreateInput{Name: "a", ExpiresIn: maxExpiresIn + time.Hour}, false},
	} {
		key, rec, err := s.Create(t.Context(), c.in)
		if c.ok != (err == nil) {
			t.Errorf("%s: Create error %v, want ok=%v", c.desc, err, c.ok)
			continue
		}
		if !c.ok {
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s: %v does not wrap ErrInvalidInput", c.desc, err)
			}
			continue
		}
		if !LooksLikeKey(key) || rec.ID != key[3:15] || rec.Name != c.in.Name {
			t.Errorf("%s: key %q, record %+v", c.desc, key, rec)
		}
		if strings.Contains(string(rec.Hash), key[16:]) {
			t.Errorf("%s: record holds the secret", c.desc)
		}
		if (c.in.ExpiresIn > 0) != (rec.ExpiresAt != nil) {
			t.Errorf("%s: ExpiresAt = %v", c.desc, rec.ExpiresAt)
		}
	}
}

func TestCreateReturnsCopy(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Options{})
	key, rec := mustCreate(t, s, CreateInput{Name: "k", Models: []string{"r1"}})
	rec.Models[0] = "changed"
	rec.Hash[0] ^= 0xff
	got, err := s.Verify(t.Context(), key)
	if err != nil || got.Models[0] != "r1" {
		t.Errorf("changing the returned record changed the cache: %+v, %v", got, err)
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s, _ := newTestService(t, Options{Now: clock.Now})
	ctx := t.Context()
	oldKey, old := mustCreate(t, s, CreateInput{Name: "svc", Team: "t", Models: []string{"a", "b"}, ExpiresIn: 48 * time.Hour})
	clock.Advance(time.Hour)
	newKey, rec, err := s.Rotate(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == old.ID || rec.Name != "svc" || rec.Team != "t" || !slices.Equal(rec.Models, old.Models) {
		t.Errorf("rotated record %+v does not carry the old settings %+v", rec, old)
	}
	if rec.ExpiresAt == nil || rec.ExpiresAt.Sub(rec.CreatedAt) != 48*time.Hour {
		t.Errorf("rotated key lifetime: %v", rec.ExpiresAt)
	}
	if _, err := s.Verify(ctx, oldKey); !errors.Is(err, ErrRevoked) {
		t.Errorf("old key after rotation: %v, want ErrRevoked", err)
	}
	if _, err := s.Verify(ctx, newKey); err != nil {
		t.Errorf("new key: %v", err)
	}
	if _, _, err := s.Rotate(ctx, old.ID); !errors.Is(err, ErrAlreadyRevoked) {
		t.Errorf("rotating a revoked key: %v, want ErrAlreadyRevoked", err)
	}
	if _, _, err := s.Rotate(ctx, "aaaaaaaaaaaa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rotating an unknown key: %v, want ErrNotFound", err)
	}
}

func TestRevokeUnknown(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Options{})
	if err := s.Revoke(t.Context(), "aaaaaaaaaaaa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke unknown: %v, want ErrNotFound", err)
	}
}

func TestListShowsUnflushedUse(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Options{})
	key, rec := mustCreate(t, s, CreateInput{Name: "k"})
	if _, err := s.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	all, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != rec.ID || all[0].LastUsedAt == nil {
		t.Errorf("List = %+v, want the key with its last use", all)
	}
}

func TestManagementLogsNoSecret(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, _ := newTestService(t, Options{Logger: log})
	key, rec := mustCreate(t, s, CreateInput{Name: "k"})
	key2, _, err := s.Rotate(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "api key created") || !strings.Contains(out, "api key revoked") || !strings.Contains(out, rec.ID) {
		t.Errorf("management actions not logged:\n%s", out)
	}
	for _, k := range []string{key, key2} {
		if strings.Contains(out, k[16:]) {
			t.Errorf("log contains a secret:\n%s", out)
		}
	}
}
