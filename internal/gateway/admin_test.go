package gateway

import "testing"

func TestLocalHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:9090", true},
		{"127.0.0.1", true},
		{"[::1]:9090", true},
		{"[::1]", true},
		{"::1", true},
		{"10.1.2.3:9090", true},         // an address cannot be re-pointed
		{"[fe80::1%25eth0]:9090", true}, // with a zone
		{"localhost:9090", true},
		{"LOCALHOST.:9090", true},
		{"admin.localhost:9090", true},
		{"", false},
		{"evil.example:9090", false},
		{"localhost.evil.example", false},
		{"127.0.0.1.nip.io:9090", false},
		{"0x7f000001:9090", false},
		{"2130706433", false},
	}
	for _, tc := range tests {
		if got := localHost(tc.host); got != tc.want {
			t.Errorf("localHost(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}
