package classifier

// maxSegment bounds one segment, so a long paragraph is scored in pieces
// and an instruction hidden in it is not diluted by the rest.
const maxSegment = 400

// Segments calls fn with the lines and sentences of a document, each at
// most maxSegment bytes. Documents such as tool results and retrieved pages
// are scored per segment, because an injected instruction is usually one
// sentence among many harmless ones.
func Segments(text string, fn func(seg string)) {
	start := 0
	emit := func(end int) {
		for end-start > maxSegment {
			fn(text[start : start+maxSegment])
			start += maxSegment
		}
		if end > start {
			fn(text[start:end])
		}
		start = end
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\n':
			emit(i)
			start = i + 1
		case (c == '.' || c == '?' || c == '!') && i+1 < len(text) && text[i+1] == ' ' && i+1-start >= 24:
			emit(i + 1)
		}
	}
	emit(len(text))
}
