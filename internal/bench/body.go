package bench

import (
	"bytes"
	"strings"
)

// chatBody returns a chat completion request of about size bytes: one user
// message padded to the size. stream adds "stream": true; xsim, when not
// empty, is added as the x_sim object that tells the simulator how to
// answer (the gateway passes unknown fields through).
func chatBody(size int, stream bool, xsim string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"model":"deepseek-chat",`)
	if stream {
		b.WriteString(`"stream":true,`)
	}
	if xsim != "" {
		b.WriteString(`"x_sim":`)
		b.WriteString(xsim)
		b.WriteString(`,`)
	}
	b.WriteString(`"messages":[{"role":"user","content":"`)
	const tail = `"}]}`
	pad := max(size-b.Len()-len(tail), 1)
	// A repeated sentence looks like text to any guard that inspects it,
	// unlike a run of one character.
	const sentence = "Summarise the quarterly report in three short bullet points. "
	b.WriteString(strings.Repeat(sentence, pad/len(sentence)+1)[:pad])
	b.WriteString(tail)
	return b.Bytes()
}
