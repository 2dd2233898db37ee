package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
)

// judge turns input lines into output objects. It is immutable and safe for
// concurrent use, as the scanner and guards it holds are.
type judge struct {
	dlp    *dlp.Scanner
	guards *guard.Guards
}

// input is one JSON input line. Text is a pointer so that a missing text is
// told apart from an empty one.
type input struct {
	ID   jsontext.Value `json:"id"`
	Text *string        `json:"text"`
	Role string         `json:"role"`
}

// errorLine is the output for a line that could not be judged.
type errorLine struct {
	ID    jsontext.Value `json:"id"`
	Error string         `json:"error"`
}

// roles are the message roles the guards know; any other role would be
// checked by no guard, so it is refused rather than silently passed.
var roles = map[string]bool{"": true, "system": true, "developer": true, "user": true,
	"assistant": true, "tool": true, "function": true, "document": true}

var jsonNull = jsontext.Value("null")

// lenient decodes a lone surrogate escape or a stray invalid byte in a
// string as U+FFFD, one code point, as Python's json module counts it, so
// that a line from a scraped data set is judged rather than refused.
var lenient = jsontext.AllowInvalidUTF8(true)

// line judges input line n (1-based). long says the line was cut at
// MaxLineBytes. The result is a dlp.ScanOutput or an errorLine.
func (j *judge) line(ctx context.Context, n int, line []byte, long bool) any {
	isJSON := isObject(line)
	switch {
	case long && isJSON:
		return errorLine{ID: validID(peekID(line)), Error: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
	case long:
		return errorLine{ID: lineID(n), Error: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
	case !isJSON:
		return j.judge(ctx, lineID(n), "", string(line))
	}
	var in input
	if err := json.Unmarshal(line, &in, lenient); err != nil {
		return errorLine{ID: validID(idOf(line, err)), Error: cleanError(err)}
	}
	if len(in.ID) == 0 {
		in.ID = lineID(n)
	}
	in.ID = validID(in.ID)
	if in.Text == nil {
		return errorLine{ID: in.ID, Error: `missing "text": a JSON line is {"id": ..., "text": "...", "role": "user"}`}
	}
	if !roles[in.Role] {
		return errorLine{ID: in.ID, Error: fmt.Sprintf("unknown role %q", in.Role)}
	}
	return j.judge(ctx, in.ID, in.Role, *in.Text)
}

// judge runs the DLP scanner and the guards over one text and combines
// their results.
func (j *judge) judge(ctx context.Context, id jsontext.Value, role, text string) dlp.ScanOutput {
	out := dlp.ScanLine(j.dlp, dlp.ScanInput{ID: id, Text: text, Role: role})
	for _, v := range j.guards.CheckText(ctx, role, text) {
		out.Guards = append(out.Guards, dlp.GuardVerdict{ID: v.Guard, Action: v.Action, Score: v.Score, Rule: v.Rule})
		out.Action = strongest(out.Action, summary(v.Action))
	}
	return out
}

// summary maps a guard action to the line's action. Any action other than
// block or mask only records, so it counts as flag.
func summary(action string) string {
	switch action {
	case guard.ActionBlock:
		return dlp.VerdictBlock
	case guard.ActionMask:
		return dlp.VerdictMask
	}
	return dlp.VerdictFlag
}

func rank(action string) int {
	switch action {
	case dlp.VerdictBlock:
		return 3
	case dlp.VerdictMask:
		return 2
	case dlp.VerdictFlag:
		return 1
	}
	return 0
}

func strongest(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// isObject reports whether a line is meant as a JSON object: its first
// non-blank byte is '{'. Anything else is plain text.
func isObject(line []byte) bool {
	for _, c := range line {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '{'
	}
	return false
}

// validID returns id as it came when it is valid JSON as the output's
// encoder checks it (valid UTF-8, no lone surrogate escape, no duplicate
// names), and otherwise with each invalid byte or lone surrogate in its
// strings replaced by U+FFFD, as the text is read, so that the output line
// always encodes.
func validID(id jsontext.Value) jsontext.Value {
	if id.IsValid() {
		return id
	}
	var v any
	if json.Unmarshal(id, &v, lenient) != nil {
		return jsonNull
	}
	b, err := json.Marshal(v)
	if err != nil {
		return jsonNull
	}
	return b
}

// lineID is the id of a line that has none: its number, as a string.
func lineID(n int) jsontext.Value {
	return jsontext.Value(`"` + strconv.Itoa(n) + `"`)
}

// idOf is the id reported for a line that failed to decode: null when the
// line is not well-formed JSON, its id when it is.
func idOf(line []byte, err error) jsontext.Value {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return jsonNull
	}
	return peekID(line)
}

// peekID returns the value of the top-level "id" member of a JSON object
// that may be cut short, or null when the id is missing or not complete.
func peekID(line []byte) jsontext.Value {
	dec := jsontext.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return jsonNull
	}
	for {
		name, err := dec.ReadToken()
		if err != nil || name.Kind() != '"' {
			return jsonNull
		}
		if name.String() == "id" {
			v, err := dec.ReadValue()
			if err != nil {
				return jsonNull
			}
			return v.Clone()
		}
		if err := dec.SkipValue(); err != nil {
			return jsonNull
		}
	}
}

// cleanError makes a decode error safe to print as a JSON string.
func cleanError(err error) string {
	return strings.ToValidUTF8(err.Error(), "\uFFFD")
}
