// Package openai reads and writes the OpenAI wire format on Rampart's hot
// path: it decodes client requests once and strictly, re-encodes them for
// the upstream by splicing only the members it changes, and parses and
// rewrites upstream responses (SSE chunks and whole completions).
//
// The request decoder is a hand-written single-pass scanner rather than
// jsontext.Decoder: it is several times faster on typical chat bodies (see
// BenchmarkDecodeChat and BenchmarkJSONTextWalk) while enforcing the same
// rules — valid UTF-8, no duplicate object names at any depth, a depth limit —
// plus one more: no case or punctuation variant of a field Rampart decides on
// ("Model", "STREAM", "max-tokens"), because Python, JavaScript and Go
// upstreams disagree on which variant wins, and a client could use that to
// make the upstream act on something other than what Rampart checked.
//
// Numbers that Rampart decides on (max_tokens, max_completion_tokens) must be
// written as plain integers: 10.0 and 1e3 are rejected, because upstream
// parsers disagree on whether they are integers.
package openai
