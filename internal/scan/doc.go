// Package scan implements `rampart scan`, the command-line view of the DLP
// and guard stages, for users' scripts and for evaluations.
//
// It reads lines on stdin. A line that starts with '{' is a JSON object
//
//	{"id": "p1", "text": "...", "role": "user"}
//
// where id is any JSON value (the line number, as a string, when absent),
// text is required and role is optional (user by default; one of system,
// developer, user, assistant, tool, function or document). Any other line is
// plain text, judged as {"id": "<line number>", "text": line}. Other members
// of the object, such as an evaluation label, are ignored.
//
// For every input line it writes one JSON line, in input order:
//
//	{"id": "p1", "action": "block", "guards": [{"id": "injection", "action": "block", "score": 0.97, "rule": "classifier"}],
//	 "findings": [{"type": "EMAIL_ADDRESS", "start": 10, "end": 25, "score": 0.9}]}
//
// Finding offsets count Unicode code points, as Presidio's do. The action is
// the strongest of block (a blocking guard verdict, or a finding whose
// action is block), mask (a finding that would be masked, redacted, hashed
// or pseudonymized, or an external guard that rewrote the text), flag (a
// flag or shadow verdict, or a finding that is only logged) and pass.
//
// A line that cannot be judged yields {"id": ..., "error": "..."} and the
// scan goes on: id is null when the line is not well-formed JSON, and the
// line's id otherwise (a missing text, an unknown role, a line longer than
// MaxLineBytes). The exit status is 0 even when inputs are blocked; it is
// non-zero only for a read or write failure, a bad configuration or an
// interrupt.
//
// With -c FILE the dlp: and guards: sections of that configuration apply
// (their enabled switches are ignored: scan always runs both); without it,
// the defaults `rampart demo` runs with.
//
// Lines are judged concurrently, one worker per CPU, and written in order.
// Memory stays bounded: at most a few lines per worker are in flight, each
// at most MaxLineBytes long.
//
// To evaluate the guards on the labelled prompts, from the repository root:
//
//	go build -o bin/rampart ./cmd/rampart
//	bin/rampart scan < ../shared/data/guard/prompts.jsonl > /tmp/scan.jsonl
//	paste <(jq -r .label ../shared/data/guard/prompts.jsonl) <(jq -r .action /tmp/scan.jsonl) | sort | uniq -c
//
// which counts, per label, the prompts blocked, flagged, masked and passed;
// `jq -c 'select(.findings != [])'` lists the lines with any DLP finding,
// the false positives when the input is benign.
package scan
