package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/rampart-gw/rampart/internal/redistest"
	"github.com/rampart-gw/rampart/internal/sim"
)

// testRedis returns the test Redis address, or skips (redistest.Addr).
func testRedis(t *testing.T) string {
	t.Helper()
	return redistest.Addr(t)
}

// TestThreeGatewaysShareRedis runs three gateways on one Redis and sends
// them twice what an hourly request limit and an hourly token limit allow,
// concurrently: exactly the request limit is served across the three, and
// the tokens served (as the upstream counted them) stay within the token
// limit and within 2% of it.
func TestThreeGatewaysShareRedis(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	// An hourly window keeps the test inside one window; wait out the
	// last seconds of an hour.
	if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 30*time.Second {
		time.Sleep(left + time.Second)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	const reqLimit, tokLimit = 60, 1500
	yaml := fmt.Sprintf("limits:\n  backend: redis\n  redis_url: redis://%s/0\n  rules:\n"+
		"    - {name: rpm-%s, by: [key], match: {model: [deepseek-chat]}, window: hour, requests: %d}\n"+
		"    - {name: tpm-%s, by: [key], match: {model: [deepseek-v3]}, window: hour, total_tokens: %d}\n",
		addr, id, reqLimit, id, tokLimit)
	var gws []*env
	for range 3 {
		gws = append(gws, start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
			[]routeSpec{
				{Name: "r", Models: "deepseek-chat", Upstreams: "sim"},
				{Name: "r-tok", Models: "deepseek-v3", Upstreams: "{upstream: sim, model: deepseek-chat}"},
			}, yaml))
	}
	run := func(model string, n int) (served int64, tokens int64, refused int64) {
		var wg sync.WaitGroup
		var s, tok, r atomic.Int64
		next := atomic.Int64{}
		for w := range 12 {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					c, err := gws[w%3].client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
						Model:     model,
						Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Share the limit")},
						MaxTokens: openai.Int(8),
					})
					if err != nil {
						if r.Add(1) == 1 {
							t.Logf("first refusal: %v", err)
						}
						continue
					}
					s.Add(1)
					tok.Add(c.Usage.TotalTokens)
				}
			})
		}
		wg.Wait()
		return s.Load(), tok.Load(), r.Load()
	}
	served, _, refused := run("deepseek-chat", 2*reqLimit)
	t.Logf("requests: %d served, %d refused, limit %d", served, refused, reqLimit)
	if served != reqLimit {
		t.Errorf("%d requests served across three gateways, want exactly %d", served, reqLimit)
	}
	served, tokens, refused := run("deepseek-v3", 300)
	t.Logf("tokens: %d served in %d requests (%d refused), limit %d (%.2f%%)", tokens, served, refused, tokLimit, 100*float64(tokens)/tokLimit)
	if tokens > tokLimit || float64(tokens) < 0.98*tokLimit {
		t.Errorf("%d tokens served across three gateways, want within 2%% of %d and never above", tokens, tokLimit)
	}
}
