// Command {{name}} is a wafer function: the host calls handle once per HTTP request to
// /fn/{{name}}[/<rest>]. Build it with `npx wafer build .` and see docs/go.md.
package main

import wafer "github.com/wafer-dev/wafer/sdk/go"

func init() { wafer.Handle(handle) }

func handle(req *wafer.Request) *wafer.Response {
	name := "world"
	if v, ok := req.QueryParam("name"); ok && len(v) > 0 {
		name = string(v)
	}
	return &wafer.Response{
		Status:  200,
		Headers: []wafer.Header{{Name: "content-type", Value: "text/plain; charset=utf-8"}},
		Body:    []byte("Hello, " + name + "!\n"),
	}
}

// main is required by the Go toolchain but never runs: the function is built as a WASI
// reactor (-buildmode=c-shared), which runs init functions and then waits for calls.
func main() {}
