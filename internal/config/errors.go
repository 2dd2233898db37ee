package config

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// FieldError is one problem in a configuration, located by its field path
// such as "routes[2].upstreams[0]" and, when known, its line in the file.
type FieldError struct {
	// Path is the dotted field path; empty for problems with the whole
	// file, such as a YAML syntax error.
	Path string
	// Line is the 1-based line in the file, or 0 when unknown.
	Line int
	// Msg says what is wrong. It never contains a secret value.
	Msg string
}

// Error returns "path: message", or the message alone when there is no path.
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in one configuration. Parse, Load, Validate
// and CheckFiles return it so that an operator sees all problems at once.
type Errors struct {
	// File names the configuration in messages; empty when not from a file.
	File string
	// List holds the problems, in file order where lines are known.
	List []FieldError
}

// Error joins the problems, one "path: message" per line.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, fe := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// maxProblems caps the list, so that a hostile file cannot make a message
// of unbounded size.
const maxProblems = 200

// add records a problem; it keeps call sites short.
func (e *Errors) add(path string, line int, msg string) {
	switch {
	case len(e.List) < maxProblems:
		e.List = append(e.List, FieldError{Path: path, Line: line, Msg: msg})
	case len(e.List) == maxProblems:
		e.List = append(e.List, FieldError{Msg: "too many problems; fix these first"})
	}
}

// err returns e as an error, or nil when there is no problem, so that a
// caller never sees a non-nil error holding a nil *Errors.
func (e *Errors) err() error {
	if e == nil || len(e.List) == 0 {
		return nil
	}
	return e
}

// sortByLine orders problems by line, keeping problems without a line at the
// end in the order they were found.
func (e *Errors) sortByLine() {
	slices.SortStableFunc(e.List, func(a, b FieldError) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
}

// FormatErrors renders err the way `rampart check` prints it: one line per
// problem, "FILE:LINE: path: message", with ":LINE" left out when the line is
// unknown. An error that is not an *Errors is printed as it is.
func FormatErrors(err error) string {
	if err == nil {
		return ""
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		return err.Error()
	}
	var b strings.Builder
	for _, fe := range errs.List {
		if errs.File != "" {
			b.WriteString(errs.File)
			if fe.Line > 0 {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(fe.Line))
			}
			b.WriteString(": ")
		} else if fe.Line > 0 {
			b.WriteString("line ")
			b.WriteString(strconv.Itoa(fe.Line))
			b.WriteString(": ")
		}
		b.WriteString(fe.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
