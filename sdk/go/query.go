package wafer

import "strings"

// QueryParam returns query parameter name as samples/README.md defines it: the query is
// split on "&"; the first part whose raw key (the text before the first "=", or the whole
// part) equals name wins, and its value (the text after the first "=", "" if none) is
// decoded: "+" becomes a space, "%XY" with two hex digits becomes the byte 0xXY, and any
// other "%" stays as it is. The result is raw bytes (not necessarily UTF-8). ok is false
// when no part has that key.
func (r *Request) QueryParam(name string) (value []byte, ok bool) {
	return QueryParam(r.Query, name)
}

// QueryParam looks name up in a raw query string; see Request.QueryParam.
func QueryParam(query, name string) (value []byte, ok bool) {
	for rest := query; ; {
		part, after, more := strings.Cut(rest, "&")
		key, val, _ := strings.Cut(part, "=")
		if key == name {
			return decodeQueryValue(val), true
		}
		if !more {
			return nil, false
		}
		rest = after
	}
}

func decodeQueryValue(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
