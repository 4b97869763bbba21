// Command logger uses WASI stdout, stderr, clocks and random: see the logger section of
// samples/README.md.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func init() { wafer.Handle(handle) }

func handle(req *wafer.Request) *wafer.Response {
	start := time.Now() // carries a monotonic reading
	fmt.Println("logger: " + req.Method + " " + req.Path)

	var random [8]byte
	if _, err := rand.Read(random[:]); err != nil {
		panic(err) // crypto/rand never fails on wasip1 (random_get); a trap would be right if it did
	}
	fmt.Fprintln(os.Stderr, "logger: done")

	now := time.Now()
	elapsed := now.Sub(start) // Time.Sub uses the monotonic readings
	body := `{"now_ms":` + strconv.FormatInt(now.UnixMilli(), 10) +
		`,"elapsed_ns":` + strconv.FormatInt(elapsed.Nanoseconds(), 10) +
		`,"random":"` + hex.EncodeToString(random[:]) + `"}`
	return &wafer.Response{
		Status: 200,
		Headers: []wafer.Header{
			{Name: "content-type", Value: "application/json"},
			{Name: "x-wafer-sample", Value: "logger"},
		},
		Body: []byte(body),
	}
}

func main() {}
