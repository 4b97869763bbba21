package main

import (
	"reflect"
	"testing"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func TestHello(t *testing.T) {
	cases := []struct {
		query, body, want string
	}{
		{"", "", "Hello, world!"},
		{"name=J%C3%BCrgen", "", "Hello, Jürgen!"},
		{"name=", "", "Hello, world!"},
		{"name=x", "Body\x00\xff", "Hello, Body\x00\xff!"},
	}
	for _, c := range cases {
		resp := handle(&wafer.Request{Method: "PATCH", Path: "/a%20b", Query: c.query, Body: []byte(c.body)})
		wantHeaders := []wafer.Header{
			{Name: "content-type", Value: "text/plain; charset=utf-8"},
			{Name: "x-wafer-sample", Value: "hello"},
			{Name: "x-wafer-method", Value: "PATCH"},
			{Name: "x-wafer-path", Value: "/a%20b"},
		}
		if resp.Status != 200 || string(resp.Body) != c.want || !reflect.DeepEqual(resp.Headers, wantHeaders) {
			t.Errorf("%q %q: got %+v", c.query, c.body, resp)
		}
	}
}
