// Package wafer is the Go SDK for wafer functions.
//
// A wafer function is a WebAssembly component that answers one HTTP-like call at a time.
// This package hides the ABI (abi/ABI.md: the component model export
// `handle: func(list<u8>) -> result<list<u8>, string>` carrying protobuf envelopes)
// behind a plain handler:
//
//	package main
//
//	import wafer "github.com/wafer-dev/wafer/sdk/go"
//
//	func init() { wafer.Handle(handle) }
//
//	func handle(req *wafer.Request) *wafer.Response {
//		return &wafer.Response{Body: []byte("Hello, world!")}
//	}
//
//	func main() {} // required by the Go toolchain, never called
//
// Register the handler in init: the module is built with -buildmode=c-shared, which runs
// package initialisation (through the reactor's _initialize export) but never main.
// Build it with `npx wafer build` or `node sdk/go/build.mjs <dir> <out.wasm>`.
package wafer

// Header is one HTTP header. Request header names are lower-case; a header sent twice
// appears twice, in order.
type Header struct {
	Name  string
	Value string
}

// Request is the call as the host received it on ANY /fn/{name}[/{rest}].
type Request struct {
	Method       string   // upper-case HTTP method, e.g. "GET"
	Path         string   // URL path after /fn/{name}, percent-encoded as received, starts with "/"
	Query        string   // raw query string without "?", "" when none
	Headers      []Header // request headers in order
	Body         []byte   // request body, empty when none
	InvocationID string   // unique id of this call
	DeadlineMs   uint64   // Unix ms after which the host cuts the call off
}

// Header returns the value of the first request header called name (compared
// case-insensitively) and whether there was one.
func (r *Request) Header(name string) (string, bool) {
	for _, h := range r.Headers {
		if equalFoldASCII(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Response is what the function answers.
type Response struct {
	Status  uint32   // HTTP status; 0 means 200
	Headers []Header // response headers, sent in this order
	Body    []byte   // response body
}

// HandlerFunc answers one request. A nil response means an empty 200.
type HandlerFunc func(req *Request) *Response

// ErrorHandlerFunc answers one request or fails. A non-nil error makes the call return
// err(message), which the host answers with 500 function_error.
type ErrorHandlerFunc func(req *Request) (*Response, error)

var handler ErrorHandlerFunc

// Handle registers the function's handler. Call it once, from an init function.
func Handle(h HandlerFunc) {
	HandleWithError(func(req *Request) (*Response, error) { return h(req), nil })
}

// HandleWithError registers a handler that may fail with an error. Call it once, from an
// init function.
func HandleWithError(h ErrorHandlerFunc) {
	if handler != nil {
		panic("wafer: Handle called twice")
	}
	handler = h
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
