package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// simReadyTimeout bounds the simulator's start-up.
	simReadyTimeout = 10 * time.Second
	// gatewayReadyTimeout bounds the gateway's start-up, which opens its
	// store and may migrate it.
	gatewayReadyTimeout = 20 * time.Second
)

// simListenPrefix starts the line the simulator prints once it listens.
const simListenPrefix = "simulator listening on http://"

// startSim starts the simulator on a port of its choosing and returns it
// with the address it listens on, once GET /health answers 200.
func startSim(ctx context.Context, client *http.Client, dir, bin string) (*child, string, error) {
	c, err := startChild(ctx, dir, "sim", bin, "sim",
		"--listen", "127.0.0.1:0", "--flavor", "deepseek", "--ttft", "0", "--tps", "0")
	if err != nil {
		return nil, "", err
	}
	var addr string
	err = c.waitUntil(ctx, simReadyTimeout, func(ctx context.Context) bool {
		if addr == "" {
			addr = findListenAddr(c.logPath)
		}
		return addr != "" && httpOK(ctx, client, "http://"+addr+"/health", "")
	})
	if err != nil {
		c.stop()
		return nil, "", err
	}
	return c, addr, nil
}

// findListenAddr returns the address the simulator announced in its log,
// or "" when it has not announced one yet.
func findListenAddr(logPath string) string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if addr, ok := parseListenLine(sc.Text()); ok {
			return addr
		}
	}
	return ""
}

// parseListenLine extracts ADDR from a line that contains
// "simulator listening on http://ADDR (flavor X)". It accepts only a
// host:port with an IP address or host name and a numeric, non-zero port.
func parseListenLine(line string) (string, bool) {
	_, rest, found := strings.Cut(line, simListenPrefix)
	if !found {
		return "", false
	}
	addr, _, _ := strings.Cut(rest, " ")
	addr = strings.TrimRight(addr, "/")
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !validHost(host) {
		return "", false
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", false
	}
	return addr, true
}

// validHost reports whether host is an IP address or a plain host name.
func validHost(host string) bool {
	if net.ParseIP(host) != nil {
		return true
	}
	if host == "" {
		return false
	}
	for i := range len(host) {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// gateway is a running `rampart serve`.
type gateway struct {
	*child
	// baseURL is the client listener's URL with the /v1 prefix.
	baseURL string
	key     string
}

// startGateway writes a configuration pointing at the simulator on simAddr
// and starts `rampart serve` with it, returning once it is ready.
func startGateway(ctx context.Context, client *http.Client, dir, bin, simAddr, stages string) (*gateway, error) {
	listenAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	adminAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	key := randomKey()
	cfgPath := filepath.Join(dir, "rampart.yaml")
	cfg := newGatewayConfig(listenAddr, adminAddr, simAddr, filepath.Join(dir, "data"), key)
	if err := cfg.withStages(stages); err != nil {
		return nil, err
	}
	if err := writeGatewayConfig(cfgPath, cfg); err != nil {
		return nil, err
	}
	c, err := startChild(ctx, dir, "gateway", bin, "serve", "-c", cfgPath)
	if err != nil {
		return nil, err
	}
	g := &gateway{child: c, baseURL: "http://" + listenAddr + "/v1", key: key}
	err = c.waitUntil(ctx, gatewayReadyTimeout, func(ctx context.Context) bool {
		return httpOK(ctx, client, "http://"+adminAddr+"/readyz", "") ||
			httpOK(ctx, client, g.baseURL+"/models", key)
	})
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	return g, nil
}
