package main

import (
	"testing"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func TestGreetsTheNameParameter(t *testing.T) {
	resp := handle(&wafer.Request{Method: "GET", Path: "/", Query: "name=Ada"})
	if got := string(resp.Body); got != "Hello, Ada!\n" {
		t.Fatalf("got %q", got)
	}
}
