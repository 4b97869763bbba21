package wafer

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// Golden bytes produced by protobufjs (the host's codec) from abi/proto/wafer/v1/envelope.proto.
const (
	goldenRequest = "0a04504f535412082f612f62253230631a126e616d653d4a2543332542437267656e2678221a0a0c636f6e74656e742d74797065120a746578742f706c61696e22050a03782d6122090a03782d611202c3bc2a04000102ff3205696e762d3138fbd095ffbc31"
	// Response{status: 201, headers: [{a, b}, {"", v}], body: "hi"}
	goldenResponse = "08c90112060a016112016212031201761a026869"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantGoldenRequest() *Request {
	return &Request{
		Method:       "POST",
		Path:         "/a/b%20c",
		Query:        "name=J%C3%BCrgen&x",
		Headers:      []Header{{"content-type", "text/plain"}, {"x-a", ""}, {"x-a", "ü"}},
		Body:         []byte{0, 1, 2, 255},
		InvocationID: "inv-1",
		DeadlineMs:   1700000000123,
	}
}

func TestDecodeRequestReadsWhatProtobufjsWrites(t *testing.T) {
	got, err := DecodeRequest(mustHex(t, goldenRequest))
	if err != nil {
		t.Fatal(err)
	}
	if want := wantGoldenRequest(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestDecodeRequestOfNothingIsTheZeroRequest(t *testing.T) {
	got, err := DecodeRequest(nil)
	if err != nil || !reflect.DeepEqual(got, &Request{}) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// tag encodes a field key.
func tag(field, wire int) []byte { return appendVarint(nil, uint64(field<<3|wire)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeRequestSkipsUnknownFieldsOfEveryWireType(t *testing.T) {
	golden := mustHex(t, goldenRequest)
	unknown := cat(
		tag(100, wireVarint), appendVarint(nil, 1<<63),
		tag(101, wireFixed64), []byte{1, 2, 3, 4, 5, 6, 7, 8},
		tag(102, wireBytes), appendVarint(nil, 3), []byte("abc"),
		tag(103, wireFixed32), []byte{1, 2, 3, 4},
		// a group holding a varint, a nested group and bytes
		tag(104, wireStartGroup),
		tag(1, wireVarint), []byte{5},
		tag(2, wireStartGroup), tag(1, wireFixed32), []byte{0, 0, 0, 0}, tag(2, wireEndGroup),
		tag(3, wireBytes), []byte{1, 'x'},
		tag(104, wireEndGroup),
		// a known field number with an unexpected wire type is skipped, not misread
		tag(1, wireVarint), []byte{7},
		tag(7, wireBytes), []byte{1, 'z'},
	)
	// Unknown fields before, between and after the known ones, and inside a header.
	header := cat(tag(4, wireBytes), []byte{8}, tag(1, wireBytes), []byte{1, 'h'}, tag(9, wireFixed32), []byte{1, 2, 3, 4})
	data := cat(unknown, golden[:6], unknown, golden[6:], header, unknown)

	got, err := DecodeRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := wantGoldenRequest()
	want.Headers = append(want.Headers, Header{Name: "h"})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestDecodeRequestLastScalarWins(t *testing.T) {
	data := cat(tag(1, wireBytes), []byte{3}, []byte("GET"), tag(1, wireBytes), []byte{3}, []byte("PUT"))
	got, err := DecodeRequest(data)
	if err != nil || got.Method != "PUT" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestDecodeRequestRejectsMalformedInput(t *testing.T) {
	cases := map[string][]byte{
		"truncated key":         {0x80},
		"truncated length":      {0x0a},
		"length past the end":   {0x0a, 5, 'a'},
		"truncated varint":      cat(tag(7, wireVarint), []byte{0xff}),
		"varint too long":       cat(tag(7, wireVarint), bytes.Repeat([]byte{0xff}, 10), []byte{1}),
		"truncated fixed64":     cat(tag(50, wireFixed64), []byte{1, 2, 3}),
		"truncated fixed32":     cat(tag(50, wireFixed32), []byte{1}),
		"field number zero":     {0x02, 0},
		"wire type 6":           cat(tag(50, 6)),
		"stray end group":       cat(tag(50, wireEndGroup)),
		"unterminated group":    cat(tag(50, wireStartGroup), tag(1, wireVarint), []byte{1}),
		"mismatched end group":  cat(tag(50, wireStartGroup), tag(51, wireEndGroup)),
		"bad header":            cat(tag(4, wireBytes), []byte{2}, []byte{0x0a, 9}),
		"groups nested too far": bytes.Repeat(tag(50, wireStartGroup), maxGroupDepth+2),
	}
	for name, data := range cases {
		if _, err := DecodeRequest(data); err == nil {
			t.Errorf("%s: no error for % x", name, data)
		}
	}
}

func TestEncodeResponseWritesWhatProtobufjsWrites(t *testing.T) {
	got := EncodeResponse(&Response{
		Status:  201,
		Headers: []Header{{"a", "b"}, {"", "v"}},
		Body:    []byte("hi"),
	})
	if want := mustHex(t, goldenResponse); !bytes.Equal(got, want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
}

func TestEncodeResponseLeavesOutZeroFields(t *testing.T) {
	if got := EncodeResponse(&Response{}); len(got) != 0 {
		t.Fatalf("got %x", got)
	}
	if got := EncodeResponse(&Response{Headers: []Header{{}}}); !bytes.Equal(got, []byte{0x12, 0}) {
		t.Fatalf("an empty header must still be written, got %x", got)
	}
}

func TestEncodeResponseHandlesLongFields(t *testing.T) {
	body := bytes.Repeat([]byte{'x'}, 1<<20)
	value := string(bytes.Repeat([]byte{'v'}, 300))
	data := EncodeResponse(&Response{Status: 599, Headers: []Header{{"n", value}}, Body: body})
	resp, err := decodeResponse(data)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 599 || len(resp.Headers) != 1 || resp.Headers[0].Value != value || !bytes.Equal(resp.Body, body) {
		t.Fatalf("round trip lost data: status %d, %d headers, %d body bytes", resp.Status, len(resp.Headers), len(resp.Body))
	}
}

// decodeResponse is the inverse of EncodeResponse, for tests.
func decodeResponse(data []byte) (*Response, error) {
	d := decoder{buf: data}
	resp := &Response{}
	for !d.done() {
		field, wire, err := d.tag()
		if err != nil {
			return nil, err
		}
		switch {
		case field == 1 && wire == wireVarint:
			var v uint64
			v, err = d.varint()
			resp.Status = uint32(v)
		case field == 2 && wire == wireBytes:
			var b []byte
			if b, err = d.bytes(); err == nil {
				var h Header
				h, err = decodeHeader(b)
				resp.Headers = append(resp.Headers, h)
			}
		case field == 3 && wire == wireBytes:
			resp.Body, err = d.bytes()
		default:
			err = d.skip(field, wire, 0)
		}
		if err != nil {
			return nil, err
		}
	}
	return resp, nil
}
