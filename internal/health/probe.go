package health

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// maxProbeBody bounds what a check reads of the answer before it closes it.
const maxProbeBody = 64 << 10

// HTTPProbe checks an upstream through its client (its TLS settings,
// credentials and headers): a GET of the path, or a POST of the body to
// one of the API paths. Any 2xx answer passes.
func HTTPProbe(c *upstream.Client, hc config.HealthCheck) Probe {
	return func(ctx context.Context) error {
		var resp *http.Response
		var err error
		if hc.Method == http.MethodPost {
			resp, err = c.Do(ctx, hc.Path, []byte(hc.Body), false, "")
		} else {
			resp, err = c.Get(ctx, hc.Path)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("no answer within %v", hc.Timeout)
			}
			return err
		}
		// Drained, within a bound, so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}
