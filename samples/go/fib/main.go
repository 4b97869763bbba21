// Command fib is CPU-bound on purpose: see the fib section of samples/README.md.
package main

import (
	"strconv"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func init() { wafer.Handle(handle) }

func handle(req *wafer.Request) *wafer.Response {
	n := 20
	if raw, ok := req.QueryParam("n"); ok {
		if n, ok = parseN(raw); !ok {
			return respond(400, "n must be an integer from 0 to 78")
		}
	}
	return respond(200, "fib("+strconv.Itoa(n)+") = "+strconv.FormatUint(fib(n), 10))
}

// parseN reads plain ASCII decimal digits (no sign or space; leading zeros are fine) with a
// value of at most 78, as the other languages' samples do.
func parseN(raw []byte) (int, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + int(c-'0'); n > 78 {
			return 0, false
		}
	}
	return n, true
}

// fib is the naive double recursion, so that large n takes long (the quota tests use it).
func fib(n int) uint64 {
	if n < 2 {
		return uint64(n)
	}
	return fib(n-1) + fib(n-2)
}

func respond(status uint32, body string) *wafer.Response {
	return &wafer.Response{
		Status: status,
		Headers: []wafer.Header{
			{Name: "content-type", Value: "text/plain; charset=utf-8"},
			{Name: "x-wafer-sample", Value: "fib"},
		},
		Body: []byte(body),
	}
}

func main() {}
