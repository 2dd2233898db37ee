package sse

import "strings"

// AppendData appends data to dst as one event: a "data: " line per line of
// data and a blank line. CR, LF and CRLF inside data all start a new data
// line, exactly as a reader splits them, so data can never inject a field or
// end the event early.
func AppendData(dst, data []byte) []byte {
	for {
		end, next := lineEnd(data)
		if end < 0 {
			dst = append(dst, "data: "...)
			dst = append(dst, data...)
			return append(dst, "\n\n"...)
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:end]...)
		dst = append(dst, '\n')
		data = data[next:]
	}
}

// AppendComment appends text to dst as comment lines followed by a blank
// line; clients ignore it, which makes it a keep-alive. Line breaks in text
// start a new comment line.
func AppendComment(dst []byte, text string) []byte {
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			dst = append(dst, ": "...)
			dst = append(dst, text...)
			return append(dst, "\n\n"...)
		}
		dst = append(dst, ": "...)
		dst = append(dst, text[:i]...)
		dst = append(dst, '\n')
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
}
