package sim

import (
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Reasoning placement of a flavour.
const (
	reasonField      = iota // reasoning_content beside content
	reasonInline            // "<think>" + reasoning + "</think>" in content
	reasonInlineOpen        // reasoning + "</think>" in content, no opening tag
)

// Error body styles.
const (
	errOpenAI = iota // {"error":{"message","type","param","code":"..."}}
	errVLLM          // {"object":"error","message","type","param","code":400}
	errOllama        // {"error":{"message","type","param":null,"code":null}}
)

// flavor holds what differs between imitated servers.
type flavor struct {
	name          string
	reasoning     int
	errStyle      int
	defaultModels []string
	// idStyle selects the id format: "uuid" (DeepSeek), "hex" (vLLM,
	// SGLang: chatcmpl- and 32 hex digits) or "short" (Ollama).
	idStyle string
	// fingerprint, when set, is sent as system_fingerprint.
	fingerprint string
	// usageInFinal puts usage in the chunk carrying finish_reason, as the
	// DeepSeek API does without stream_options.
	usageInFinal bool
	// vllmExtras adds stop_reason, tool_calls and prompt_logprobs.
	vllmExtras bool
	// roleEveryDelta repeats "role":"assistant" in every delta (Ollama).
	roleEveryDelta bool
	// logprobs adds "logprobs":null to each choice.
	logprobs bool
	// answerOnlyLimit applies max_tokens to the answer alone (DeepSeek
	// counts the reasoning apart); other servers count every token.
	answerOnlyLimit bool
}

var deepseekModels = []string{"deepseek-reasoner", "deepseek-chat"}

var flavors = map[string]*flavor{
	FlavorDeepSeek: {
		name: FlavorDeepSeek, reasoning: reasonField, errStyle: errOpenAI,
		defaultModels: deepseekModels, idStyle: "uuid",
		fingerprint: "fp_5417b77867_prod0225", usageInFinal: true,
		logprobs: true, answerOnlyLimit: true,
	},
	FlavorVLLM: {
		name: FlavorVLLM, reasoning: reasonField, errStyle: errVLLM,
		defaultModels: append(deepseekModels[:2:2], "deepseek-ai/DeepSeek-R1"),
		idStyle:       "hex", vllmExtras: true, logprobs: true,
	},
	FlavorVLLMNoParser: {
		name: FlavorVLLMNoParser, reasoning: reasonInlineOpen, errStyle: errVLLM,
		defaultModels: append(deepseekModels[:2:2], "deepseek-ai/DeepSeek-R1"),
		idStyle:       "hex", vllmExtras: true, logprobs: true,
	},
	FlavorSGLang: {
		name: FlavorSGLang, reasoning: reasonField, errStyle: errVLLM,
		defaultModels: append(deepseekModels[:2:2], "deepseek-ai/DeepSeek-R1"),
		idStyle:       "hex", vllmExtras: true, logprobs: true,
	},
	FlavorOllama: {
		name: FlavorOllama, reasoning: reasonInline, errStyle: errOllama,
		defaultModels: append(deepseekModels[:2:2], "deepseek-r1:7b"),
		idStyle:       "short", fingerprint: "fp_ollama", roleEveryDelta: true,
	},
}

// lookupFlavor finds a flavour by name; "" is deepseek.
func lookupFlavor(name string) (*flavor, bool) {
	if name == "" {
		return flavors[FlavorDeepSeek], true
	}
	fl, ok := flavors[name]
	if !ok {
		return flavors[FlavorDeepSeek], false
	}
	return fl, true
}

// errorType names the error type for a status in the OpenAI style.
func errorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusPaymentRequired:
		return "insufficient_balance_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// vllmErrorType names the error type vLLM and SGLang use for a status.
func vllmErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BadRequestError"
	case http.StatusUnauthorized:
		return "AuthenticationError"
	case http.StatusNotFound:
		return "NotFoundError"
	case http.StatusTooManyRequests:
		return "RateLimitError"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailableError"
	}
	if status >= 500 {
		return "InternalServerError"
	}
	return "BadRequestError"
}

// appendError renders an error body in the flavour's format.
func (fl *flavor) appendError(b []byte, status int, msg, code string) []byte {
	switch fl.errStyle {
	case errVLLM:
		b = append(b, `{"object":"error","message":`...)
		b = appendString(b, msg)
		b = append(b, `,"type":"`...)
		b = append(b, vllmErrorType(status)...)
		b = append(b, `","param":null,"code":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		return append(b, '}')
	case errOllama:
		b = append(b, `{"error":{"message":`...)
		b = appendString(b, msg)
		b = append(b, `,"type":"`...)
		b = append(b, errorType(status)...)
		return append(b, `","param":null,"code":null}}`...)
	}
	b = append(b, `{"error":{"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"type":"`...)
	b = append(b, errorType(status)...)
	b = append(b, `","param":null,"code":`...)
	if code == "" {
		code = errorType(status)
	}
	b = appendString(b, code)
	return append(b, `}}`...)
}

// writeError sends an error in the flavour's format.
func (s *Server) writeError(w http.ResponseWriter, status int, msg, code string) {
	body := s.fl.appendError(make([]byte, 0, 160+len(msg)), status, msg, code)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if _, err := w.Write(body); err == nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.markFinished()
		}
	}
}

// appendString appends s as a JSON string. Invalid UTF-8 is replaced rather
// than failing, because error messages may quote client input.
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	// On invalid UTF-8 AppendQuote still writes the string, with
	// replacement characters; the error only reports that it had to.
	out, _ := jsontext.AppendQuote(b, s)
	return out
}
