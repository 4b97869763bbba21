package wafer

import "testing"

// Cases follow the query-parameter definition in samples/README.md.
func TestQueryParam(t *testing.T) {
	cases := []struct {
		query, name string
		want        string
		found       bool
	}{
		{"", "name", "", false},
		{"name=J%C3%BCrgen", "name", "Jürgen", true},
		{"a=1&name=x&name=y", "name", "x", true},   // the first match wins
		{"name", "name", "", true},                 // no "=": present, empty
		{"name=", "name", "", true},                // empty value
		{"name=a=b", "name", "a=b", true},          // only the first "=" splits
		{"names=x&name=y", "name", "y", true},      // keys compare exactly
		{"Name=x", "name", "", false},              // and case-sensitively
		{"na%6De=x", "name", "", false},            // keys are not decoded
		{"name=a+b%20c", "name", "a b c", true},    // "+" is a space
		{"name=%2B", "name", "+", true},            // an encoded "+" stays "+"
		{"name=100%", "name", "100%", true},        // lone "%" stays
		{"name=%4", "name", "%4", true},            // "%" and one hex digit stay
		{"name=%zz%41", "name", "%zzA", true},      // invalid escape kept, valid one decoded
		{"name=%4a%4A", "name", "JJ", true},        // either case of hex digit
		{"name=%FF%00", "name", "\xff\x00", true},  // bytes, not necessarily UTF-8
		{"&&name=v&", "name", "v", true},           // empty parts are skipped over
		{"x=1&", "", "", true},                     // the empty key matches an empty part
		{"name=%%41", "name", "%A", true},          // "%" then a valid escape
		{"name=a&b", "b", "", true},                // last part without "="
		{"name=%e2%82%ac", "name", "\u20ac", true}, // multi-byte UTF-8
		{"name=%C3%BC+%C3%BC", "name", "\u00fc \u00fc", true},
	}
	for _, c := range cases {
		got, found := QueryParam(c.query, c.name)
		if found != c.found || string(got) != c.want {
			t.Errorf("QueryParam(%q, %q) = %q, %v; want %q, %v", c.query, c.name, got, found, c.want, c.found)
		}
	}
}

func TestRequestQueryParamUsesTheRequestQuery(t *testing.T) {
	req := &Request{Query: "n=20"}
	if v, ok := req.QueryParam("n"); !ok || string(v) != "20" {
		t.Fatalf("got %q, %v", v, ok)
	}
}

func TestRequestHeaderIgnoresCase(t *testing.T) {
	req := &Request{Headers: []Header{{"x-a", "1"}, {"X-A", "2"}}}
	if v, ok := req.Header("X-a"); !ok || v != "1" {
		t.Fatalf("got %q, %v", v, ok)
	}
	if _, ok := req.Header("x-b"); ok {
		t.Fatal("found a header that is not there")
	}
}
