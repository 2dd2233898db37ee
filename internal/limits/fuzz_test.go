package limits

import (
	"strings"
	"testing"
)

// FuzzBucket feeds client-controlled subject values (model names, user
// ids, addresses) into counter keys: distinct subjects never share a
// bucket, the hash tag always spans the whole bucket, and keys stay short.
func FuzzBucket(f *testing.F) {
	f.Add("alice", "deepseek-chat", "bob", "deepseek-chat")
	f.Add("a:b", "c", "a", "b:c")
	f.Add("x}", "{y", "x", "}{y")
	f.Add("%3A", "", ":", "")
	f.Add(strings.Repeat("m", 200), "", strings.Repeat("m", 199), "")
	cs, err := compileRules([]Rule{{Name: "r", By: []Dimension{DimUser, DimModel}, Window: Minute, Requests: 1}})
	if err != nil {
		f.Fatal(err)
	}
	c := cs[0]
	f.Fuzz(func(t *testing.T, u1, m1, u2, m2 string) {
		b1 := c.bucket(&Subject{User: u1, Model: m1})
		b2 := c.bucket(&Subject{User: u2, Model: m2})
		if (u1 != u2 || m1 != m2) && b1 == b2 {
			t.Fatalf("subjects (%q,%q) and (%q,%q) share bucket %q", u1, m1, u2, m2, b1)
		}
		key := counterKey(b1, qTotal, 1773500940)
		if tag(key) != b1 || strings.Count(b1, "{") != 1 || strings.Count(b1, "}") != 1 {
			t.Fatalf("key %q: hash tag %q, want %q", key, tag(key), b1)
		}
		if len(b1) > 2+len("r")+2*(3*maxKeyValue+1) {
			t.Fatalf("bucket of %d bytes", len(b1))
		}
	})
}
