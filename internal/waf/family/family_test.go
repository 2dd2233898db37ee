package family

import (
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"913100", "913-scanner"},
		{"920350", "920-protocol"},
		{"930120", "930-lfi"},
		{"932236", "932-rce"},
		{"941100", "941-xss"},
		{"942100", "942-sqli"},
		{"949110", "949-blocking"},
		{"200002", Engine},
		{"200100", Custom},
		{"910000", Custom}, // no such CRS file
		{"1", Custom},
		{"1000000", Custom},
		{"", Custom},
		{"-942100", Custom},
		{"942100 OR 1=1", Custom},
	} {
		if got := Of(tc.id); got != tc.want {
			t.Errorf("Of(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestNamesBounded(t *testing.T) {
	names := Names()
	for id := 0; id < 1_100_000; id += 97 {
		if f := OfID(id); !slices.Contains(names, f) {
			t.Fatalf("OfID(%d) = %q, not in Names", id, f)
		}
	}
	if len(names) != 20 {
		t.Errorf("%d names, want 20", len(names))
	}
}
