// Command json parses, transforms and answers JSON: see the json section of
// samples/README.md. The output is written by hand: encoding/json escapes <, >, &, U+2028
// and U+2029, which the spec wants raw, and turns a lone surrogate escape such as "\ud800"
// into U+FFFD, where the other languages' samples write it back as "\ud800".
package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func init() { wafer.Handle(handle) }

func handle(req *wafer.Request) *wafer.Response {
	obj, ok := parseObject(req.Body)
	if !ok {
		return fail("body is not a JSON object")
	}
	greeting := []byte(`"Hello, world!"`)
	if raw, present := obj["name"]; present {
		if raw[0] != '"' {
			return fail("name must be a string")
		}
		greeting = append(append([]byte(`"Hello, `), reescape(raw)...), `!"`...)
	}
	var numbers []int64
	if raw, present := obj["numbers"]; present {
		if numbers, ok = wholeNumbers(raw); !ok {
			return fail("numbers must be an array of integers")
		}
	}
	var sum int128
	for _, n := range numbers {
		sum = sum.add(n)
	}

	body := append([]byte(`{"greeting":`), greeting...)
	body = append(body, `,"count":`...)
	body = strconv.AppendInt(body, int64(len(numbers)), 10)
	body = append(body, `,"sum":`...)
	body = sum.appendDecimal(body)
	body = append(body, '}')
	return respond(200, body)
}

// parseObject parses body as one JSON object and returns its members as raw JSON (the last
// of repeated keys wins, as in JSON.parse). The body must be valid UTF-8 as it is: a
// byte-order mark is not JSON.
func parseObject(body []byte) (map[string]json.RawMessage, bool) {
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, false
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); trimmed[0] != '{' {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, false
	}
	return obj, true
}

// wholeNumbers accepts an array of whole numbers with magnitude at most 2^53, judged by
// the exact value as written: 3, 3.0, 30e-1 and 3e0 qualify; 1.5 and 9007199254740993 do not.
func wholeNumbers(raw json.RawMessage) ([]int64, bool) {
	var arr []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &arr) != nil {
		return nil, false
	}
	out := make([]int64, 0, len(arr))
	for _, item := range arr {
		if c := item[0]; c != '-' && (c < '0' || c > '9') {
			return nil, false
		}
		n, ok := exactInteger(string(item))
		if !ok {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// exactInteger reads a JSON number literal (already validated by the decoder) without
// rounding and returns its value if it is a whole number of magnitude at most 2^53.
func exactInteger(lit string) (int64, bool) {
	neg := strings.HasPrefix(lit, "-")
	lit = strings.TrimPrefix(lit, "-")
	mantissa, exp, hasExp := strings.Cut(strings.ToLower(lit), "e")
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, true // zero, however written
	}
	significant := strings.TrimRight(digits, "0")
	e := 0
	if hasExp {
		var err error
		// With non-zero digits, an exponent this far out means a value far above 2^53 or a
		// fraction (the body cannot hold 10^9 digits to compensate); bounding it also keeps
		// the arithmetic below from overflowing.
		if e, err = strconv.Atoi(strings.TrimPrefix(exp, "+")); err != nil || e > 1e9 || e < -1e9 {
			return 0, false
		}
	}
	// value = significant × 10^scale
	scale := e - len(frac) + (len(digits) - len(significant))
	if scale < 0 || len(significant)+scale > 16 { // a fraction remains, or ≥ 10^16 > 2^53
		return 0, false
	}
	v, err := strconv.ParseInt(significant, 10, 64)
	if err != nil {
		return 0, false
	}
	for ; scale > 0; scale-- {
		v *= 10
	}
	if v > 1<<53 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// fail answers 400 with one of the spec's messages (plain ASCII: nothing to escape).
func fail(message string) *wafer.Response {
	return respond(400, []byte(`{"error":"`+message+`"}`))
}

func respond(status uint32, body []byte) *wafer.Response {
	return &wafer.Response{
		Status: status,
		Headers: []wafer.Header{
			{Name: "content-type", Value: "application/json"},
			{Name: "x-wafer-sample", Value: "json"},
		},
		Body: body,
	}
}

// reescape turns a JSON string literal (validated, quotes included) into the spec's output
// form, without the quotes: ", \ and U+0000-U+001F escaped (\b \f \n \r \t, else \u00xx);
// every other character as raw UTF-8, whether written raw or as an escape, so "\u00e9" and
// "\/" come out as "é" and "/"; a surrogate escape that is not half of a pair stays an escape
// (lower-case hex), as JavaScript's JSON.stringify writes it.
func reescape(lit []byte) []byte {
	const hex = "0123456789abcdef"
	s := lit[1 : len(lit)-1]
	out := make([]byte, 0, len(s))
	emit := func(r rune) {
		switch {
		case r == '"':
			out = append(out, '\\', '"')
		case r == '\\':
			out = append(out, '\\', '\\')
		case r == '\b':
			out = append(out, '\\', 'b')
		case r == '\f':
			out = append(out, '\\', 'f')
		case r == '\n':
			out = append(out, '\\', 'n')
		case r == '\r':
			out = append(out, '\\', 'r')
		case r == '\t':
			out = append(out, '\\', 't')
		case r < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case utf16.IsSurrogate(r):
			out = append(out, '\\', 'u', hex[r>>12], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i]) // raw text: valid UTF-8 without control characters
			i++
			continue
		}
		switch c := s[i+1]; c {
		case 'b':
			emit('\b')
		case 'f':
			emit('\f')
		case 'n':
			emit('\n')
		case 'r':
			emit('\r')
		case 't':
			emit('\t')
		case 'u':
			r := unhex4(s[i+2 : i+6])
			if utf16.IsSurrogate(r) && r < 0xdc00 && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				if pair := utf16.DecodeRune(r, unhex4(s[i+8:i+12])); pair != utf8.RuneError {
					emit(pair)
					i += 12
					continue
				}
			}
			emit(r)
			i += 6
			continue
		default: // " \ /
			emit(rune(c))
		}
		i += 2
	}
	return out
}

func unhex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

func main() {}
