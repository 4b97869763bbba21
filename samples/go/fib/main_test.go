package main

import (
	"testing"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func TestFib(t *testing.T) {
	cases := []struct{ query, body string }{
		{"", "fib(20) = 6765"},
		{"n=0", "fib(0) = 0"},
		{"n=1", "fib(1) = 1"},
		{"n=020", "fib(20) = 6765"},
		{"n=%32%30", "fib(20) = 6765"},
		{"x=1&n=10&n=11", "fib(10) = 55"},
		{"n=", "n must be an integer from 0 to 78"},
		{"n", "n must be an integer from 0 to 78"},
		{"n=79", "n must be an integer from 0 to 78"},
		{"n=-1", "n must be an integer from 0 to 78"},
		{"n=+5", "n must be an integer from 0 to 78"},
		{"n=%2B5", "n must be an integer from 0 to 78"},
		{"n=5.0", "n must be an integer from 0 to 78"},
		{"n=+", "n must be an integer from 0 to 78"},
		{"n=99999999999999999999999", "n must be an integer from 0 to 78"},
	}
	for _, c := range cases {
		resp := handle(&wafer.Request{Query: c.query})
		status := uint32(200)
		if c.body[0] == 'n' {
			status = 400
		}
		if resp.Status != status || string(resp.Body) != c.body {
			t.Errorf("?%s: got %d %q, want %d %q", c.query, resp.Status, resp.Body, status, c.body)
		}
	}
	if got := fib(30); got != 832040 {
		t.Errorf("fib(30) = %d", got)
	}
}
