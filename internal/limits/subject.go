package limits

import "github.com/rampart-gw/rampart/internal/record"

// Subject is who and what a request is, as the limits see it. Every field
// may be empty; an empty value is a value of its own when a rule counts
// by that dimension.
type Subject struct {
	// Key is the API key's public id (never the secret).
	Key string
	// User is the authenticated user or token subject.
	User string
	// Team is the principal's team.
	Team string
	// Model is the requested model.
	Model string
	// Route is the name of the route that serves the request.
	Route string
	// ClientIP is the client's address, without a port.
	ClientIP string
}

// value returns the subject's value for d.
func (s *Subject) value(d Dimension) string {
	switch d {
	case DimKey:
		return s.Key
	case DimUser:
		return s.User
	case DimTeam:
		return s.Team
	case DimModel:
		return s.Model
	case DimRoute:
		return s.Route
	case DimClientIP:
		return s.ClientIP
	}
	return ""
}

// Estimate is what a request may consume, known before it goes upstream.
type Estimate struct {
	// InputTokens is the estimated prompt size in tokens.
	InputTokens int64
	// MaxOutputTokens is the request's max_tokens (or
	// max_completion_tokens); zero when the client sent none, in which
	// case Options.DefaultMaxOutputTokens is reserved.
	MaxOutputTokens int64
}

// Usage is what a request consumed, as the upstream reported it or, for a
// response cut short, as counted so far.
type Usage struct {
	// InputTokens counts all prompt tokens, cache hits included.
	InputTokens int64
	// CachedInputTokens counts the prompt tokens served from the
	// provider's cache; they are part of InputTokens.
	CachedInputTokens int64
	// OutputTokens counts completion tokens, reasoning included.
	OutputTokens int64
}

// UsageFrom converts the request record's usage. Completion tokens already
// include reasoning tokens, as OpenAI and DeepSeek report them.
func UsageFrom(u record.Usage) Usage {
	return Usage{
		InputTokens:       int64(u.PromptTokens),
		CachedInputTokens: int64(u.CachedTokens),
		OutputTokens:      int64(u.CompletionTokens),
	}
}
