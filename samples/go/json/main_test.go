package main

import (
	"testing"

	wafer "github.com/wafer-dev/wafer/sdk/go"
)

func TestJSONAnswersAsSamplesREADMESays(t *testing.T) {
	cases := []struct {
		body   string
		status uint32
		want   string
	}{
		{`{"name":"Ada","numbers":[1,2,3]}`, 200, `{"greeting":"Hello, Ada!","count":3,"sum":6}`},
		{`{}`, 200, `{"greeting":"Hello, world!","count":0,"sum":0}`},
		{` {"numbers":[-5, 2.0, 3e0, 30e-1, -0, 1E+1]} `, 200, `{"greeting":"Hello, world!","count":6,"sum":13}`},
		{`{"numbers":[9007199254740992,9007199254740992,-1]}`, 200, `{"greeting":"Hello, world!","count":3,"sum":18014398509481983}`},
		{`{"name":"<&>\u2028/\"\\\b\f\n\r\t\u0001\u001f\u007f é"}`, 200,
			"{\"greeting\":\"Hello, <&>\u2028/\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u007f é!\",\"count\":0,\"sum\":0}"},
		{`{"name":"a","name":"b"}`, 200, `{"greeting":"Hello, b!","count":0,"sum":0}`},
		{` { "name" :  "x" , "numbers" : [ 1 , -2 ] } `, 200, `{"greeting":"Hello, x!","count":2,"sum":-1}`},
		{`{"name":"\u00e9\/\u0041\ud83d\ude00😀"}`, 200, `{"greeting":"Hello, é/A😀😀!","count":0,"sum":0}`},
		{`{"name":"\ud800|\udc00|\uDBFF\u0041|\ud800\ud800"}`, 200, `{"greeting":"Hello, \ud800|\udc00|\udbffA|\ud800\ud800!","count":0,"sum":0}`},
		{`{"n\u0061me":"esc"}`, 200, `{"greeting":"Hello, esc!","count":0,"sum":0}`},
		{``, 400, `{"error":"body is not a JSON object"}`},
		{`[]`, 400, `{"error":"body is not a JSON object"}`},
		{`null`, 400, `{"error":"body is not a JSON object"}`},
		{`{"a":1}x`, 400, `{"error":"body is not a JSON object"}`},
		{`{"a":1} {}`, 400, `{"error":"body is not a JSON object"}`},
		{"\ufeff{}", 400, `{"error":"body is not a JSON object"}`},
		{"{\"name\":\"\xff\"}", 400, `{"error":"body is not a JSON object"}`},
		{`{"name":1}`, 400, `{"error":"name must be a string"}`},
		{`{"name":null}`, 400, `{"error":"name must be a string"}`},
		{`{"name":1,"numbers":1}`, 400, `{"error":"name must be a string"}`},
		{`{"numbers":{}}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":null}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[1.5]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":["1"]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[9007199254740993]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[1.0000000000000001]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[1e400]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[1e-400]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[0e999999999999999999999]}`, 200, `{"greeting":"Hello, world!","count":1,"sum":0}`},
		{`{"numbers":[1e999999999999999999999]}`, 400, `{"error":"numbers must be an array of integers"}`},
		{`{"numbers":[[1]]}`, 400, `{"error":"numbers must be an array of integers"}`},
	}
	for _, c := range cases {
		resp := handle(&wafer.Request{Method: "POST", Body: []byte(c.body)})
		if resp.Status != c.status || string(resp.Body) != c.want {
			t.Errorf("body %q: got %d %s\nwant %d %s", c.body, resp.Status, resp.Body, c.status, c.want)
		}
		if len(resp.Headers) != 2 || resp.Headers[0] != (wafer.Header{Name: "content-type", Value: "application/json"}) ||
			resp.Headers[1] != (wafer.Header{Name: "x-wafer-sample", Value: "json"}) {
			t.Errorf("body %q: headers %v", c.body, resp.Headers)
		}
	}
}

func TestInt128SumsPastInt64(t *testing.T) {
	var s int128
	for i := 0; i < 2048; i++ {
		s = s.add(1 << 53)
	}
	if got := string(s.appendDecimal(nil)); got != "18446744073709551616" { // 2^64
		t.Fatalf("got %s", got)
	}
	for i := 0; i < 4096; i++ {
		s = s.add(-(1 << 53))
	}
	if got := string(s.appendDecimal(nil)); got != "-18446744073709551616" {
		t.Fatalf("got %s", got)
	}
	s = int128{}
	for i := 0; i < 1<<20; i++ {
		s = s.add(1<<53 - 1)
	}
	// (2^53 - 1) * 2^20 = 2^73 - 2^20
	if got := string(s.appendDecimal(nil)); got != "9444732965739289378816" {
		t.Fatalf("got %s", got)
	}
}
