// Command hello greets: see the hello section of samples/README.md.
package main

import wafer "github.com/wafer-dev/wafer/sdk/go"

func init() { wafer.Handle(handle) }

func handle(req *wafer.Request) *wafer.Response {
	name := req.Body
	if len(name) == 0 {
		if q, ok := req.QueryParam("name"); ok && len(q) > 0 {
			name = q
		} else {
			name = []byte("world")
		}
	}
	body := make([]byte, 0, len("Hello, !")+len(name))
	body = append(append(append(body, "Hello, "...), name...), '!')
	return &wafer.Response{
		Status: 200,
		Headers: []wafer.Header{
			{Name: "content-type", Value: "text/plain; charset=utf-8"},
			{Name: "x-wafer-sample", Value: "hello"},
			{Name: "x-wafer-method", Value: req.Method},
			{Name: "x-wafer-path", Value: req.Path},
		},
		Body: body,
	}
}

func main() {}
