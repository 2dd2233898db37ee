package keys

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/store"
)

// AdminPath is where AdminHandler is mounted on the admin listener.
const AdminPath = "/admin/v1/keys"

// maxAdminBody bounds a create request body.
const maxAdminBody = 64 << 10

// AdminHandler serves the key admin API under AdminPath; it expects the full
// request path (mount it at AdminPath and AdminPath+"/", without stripping
// the prefix):
//
//	GET  /admin/v1/keys              list keys (never secrets or hashes)
//	POST /admin/v1/keys              create: {name, team, models, expires_in}
//	GET  /admin/v1/keys/{id}         one key
//	POST /admin/v1/keys/{id}/revoke  revoke
//	POST /admin/v1/keys/{id}/rotate  new key with the same settings; old revoked
//
// A key is in a response only to create and rotate, once. expires_in is a
// duration string such as "720h" or a number of seconds. Errors use the
// OpenAI JSON format.
func AdminHandler(s *Service) http.Handler {
	return &admin{s: s}
}

type admin struct{ s *Service }

func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, AdminPath)
	if !ok {
		apierr.Write(w, notFound("Unknown admin endpoint."))
		return
	}
	id, action, _ := strings.Cut(strings.Trim(rest, "/"), "/")
	if id == "" {
		a.collection(w, r)
		return
	}
	if !ValidID(id) {
		apierr.Write(w, notFound("No API key has this id."))
		return
	}
	switch action {
	case "":
		if allow(w, r, http.MethodGet) {
			a.get(w, r, id)
		}
	case "revoke":
		if allow(w, r, http.MethodPost) {
			a.revoke(w, r, id)
		}
	case "rotate":
		if allow(w, r, http.MethodPost) {
			a.rotate(w, r, id)
		}
	default:
		apierr.Write(w, notFound("Unknown admin endpoint."))
	}
}

// allow answers 405 unless r uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	apierr.Write(w, apierr.New(http.StatusMethodNotAllowed, apierr.TypeInvalidRequest,
		"method_not_allowed", "Use "+method+" on this endpoint."))
	return false
}

func (a *admin) collection(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		a.list(w, r)
	case http.MethodPost:
		a.create(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		apierr.Write(w, apierr.New(http.StatusMethodNotAllowed, apierr.TypeInvalidRequest,
			"method_not_allowed", "Use GET or POST on this endpoint."))
	}
}

func (a *admin) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.s.List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	now := a.s.opts.Now()
	out := listView{Object: "list", Data: make([]keyView, len(all))}
	for i, k := range all {
		out.Data[i] = view(k, now, "")
	}
	writeJSON(w, http.StatusOK, &out)
}

func (a *admin) get(w http.ResponseWriter, r *http.Request, id string) {
	rec, err := a.s.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := view(rec, a.s.opts.Now(), "")
	writeJSON(w, http.StatusOK, &v)
}

func (a *admin) create(w http.ResponseWriter, r *http.Request) {
	in, err := decodeCreate(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		apierr.Write(w, err)
		return
	}
	key, rec, err := a.s.Create(r.Context(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := view(rec, a.s.opts.Now(), key)
	writeJSON(w, http.StatusCreated, &v)
}

func (a *admin) revoke(w http.ResponseWriter, r *http.Request, id string) {
	if err := a.s.Revoke(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	a.get(w, r, id)
}

func (a *admin) rotate(w http.ResponseWriter, r *http.Request, id string) {
	key, rec, err := a.s.Rotate(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := view(rec, a.s.opts.Now(), key)
	writeJSON(w, http.StatusOK, &v)
}

// fail maps a service error to its answer; unexpected ones are logged.
func (a *admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		apierr.Write(w, notFound("No API key has this id."))
	case errors.Is(err, ErrAlreadyRevoked):
		apierr.Write(w, apierr.New(http.StatusConflict, apierr.TypeInvalidRequest,
			"key_revoked", "A revoked key cannot be rotated; create a new key instead."))
	case errors.Is(err, ErrInvalidInput):
		apierr.Write(w, apierr.BadRequest("invalid_key_settings", publicInputMessage(err)))
	default:
		a.s.log.LogAttrs(r.Context(), slog.LevelError, "key admin request failed",
			slog.String("path", r.URL.Path), slog.Any("error", err))
		apierr.Write(w, err)
	}
}

// publicInputMessage is the validation message without the sentinel's
// prefix; it names a field and a limit, never a secret.
func publicInputMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ErrInvalidInput.Error()+": "); ok {
		msg = after
	}
	return "Invalid key settings: " + msg + "."
}

func notFound(msg string) *apierr.Error {
	return apierr.New(http.StatusNotFound, apierr.TypeNotFound, "key_not_found", msg)
}

// createRequest is the body of POST /admin/v1/keys.
type createRequest struct {
	Name      string         `json:"name"`
	Team      string         `json:"team"`
	Models    []string       `json:"models"`
	ExpiresIn jsontext.Value `json:"expires_in"`
}

// decodeCreate reads a create request strictly: unknown or duplicate
// members, trailing data and malformed JSON are 400s.
func decodeCreate(r io.Reader) (CreateInput, error) {
	var req createRequest
	if err := json.UnmarshalRead(r, &req, json.RejectUnknownMembers(true)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return CreateInput{}, apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest,
				"body_too_large", "The request body is too large.")
		}
		return CreateInput{}, apierr.BadRequest("invalid_json",
			"The body must be a JSON object with name, team, models and expires_in.")
	}
	exp, err := parseExpiresIn(req.ExpiresIn)
	if err != nil {
		return CreateInput{}, apierr.BadParam("expires_in", "invalid_expires_in",
			`expires_in must be a duration such as "720h" or a number of seconds.`)
	}
	if req.Name == "" {
		return CreateInput{}, apierr.BadParam("name", "missing_name", "name is required.")
	}
	return CreateInput{Name: req.Name, Team: req.Team, Models: req.Models, ExpiresIn: exp}, nil
}

// parseExpiresIn accepts null or absent (never), a duration string or a
// whole number of seconds.
func parseExpiresIn(v jsontext.Value) (time.Duration, error) {
	switch v.Kind() {
	case 0, 'n':
		return 0, nil
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, err
		}
		d, err := time.ParseDuration(s)
		if err == nil && d < 0 {
			return 0, fmt.Errorf("expires_in is negative: %s", s)
		}
		return d, err
	case '0':
		var secs int64
		if err := json.Unmarshal(v, &secs); err != nil {
			return 0, err
		}
		if secs < 0 || secs > int64(maxExpiresIn/time.Second) {
			return 0, fmt.Errorf("expires_in out of range: %d", secs)
		}
		return time.Duration(secs) * time.Second, nil
	}
	return 0, fmt.Errorf("expires_in: unexpected JSON kind %v", v.Kind())
}

// listView is the answer to GET /admin/v1/keys.
type listView struct {
	Object string    `json:"object"`
	Data   []keyView `json:"data"`
}

// keyView is a key as the admin API shows it: no hash, and the plaintext
// only right after creation or rotation.
type keyView struct {
	Object     string     `json:"object"`
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Team       string     `json:"team"`
	Models     []string   `json:"models"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Key        string     `json:"key,omitempty"`
}

func view(k *store.KeyRecord, now time.Time, key string) keyView {
	return keyView{
		Object: "api_key", ID: k.ID, Name: k.Name, Team: k.Team, Models: k.Models,
		Status: Status(k, now), CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utc(k.ExpiresAt),
		RevokedAt: utc(k.RevokedAt), LastUsedAt: utc(k.LastUsedAt), Key: key,
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeJSON sends v; key material must never be cached by a proxy.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.MarshalWrite(w, v)
}
