package wafer

import (
	"errors"
	"strings"
	"testing"
)

// withHandler registers h for one test.
func withHandler(t *testing.T, h ErrorHandlerFunc) {
	t.Helper()
	prev := handler
	handler = nil
	HandleWithError(h)
	t.Cleanup(func() { handler = prev })
}

func TestDispatchEncodesTheHandlersResponse(t *testing.T) {
	withHandler(t, func(req *Request) (*Response, error) {
		return &Response{Status: 201, Body: append([]byte(req.Method+" "), req.Body...)}, nil
	})
	out, msg, failed := dispatch(encodeRequestForTest(&Request{Method: "PUT", Body: []byte("x")}))
	if failed {
		t.Fatal(msg)
	}
	resp, err := decodeResponse(out)
	if err != nil || resp.Status != 201 || string(resp.Body) != "PUT x" {
		t.Fatalf("got %+v, %v", resp, err)
	}
}

func TestDispatchTurnsANilResponseIntoAnEmptyOne(t *testing.T) {
	withHandler(t, func(*Request) (*Response, error) { return nil, nil })
	out, _, failed := dispatch(nil)
	if failed || len(out) != 0 {
		t.Fatalf("got %x, failed %v", out, failed)
	}
}

func TestDispatchReportsErrorsPanicsAndBadEnvelopes(t *testing.T) {
	cases := []struct {
		name    string
		handler ErrorHandlerFunc
		input   []byte
		want    string
	}{
		{"error", func(*Request) (*Response, error) { return nil, errors.New("no good") }, nil, "no good"},
		{"panic", func(*Request) (*Response, error) { panic("boom") }, nil, "panic: boom"},
		{"bad envelope", func(*Request) (*Response, error) { return &Response{}, nil }, []byte{0x0a}, "bad request envelope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withHandler(t, c.handler)
			_, msg, failed := dispatch(c.input)
			if !failed || !strings.Contains(msg, c.want) {
				t.Fatalf("got %q, failed %v; want %q", msg, failed, c.want)
			}
		})
	}
}

func TestDispatchWithoutAHandlerFails(t *testing.T) {
	prev := handler
	handler = nil
	t.Cleanup(func() { handler = prev })
	if _, msg, failed := dispatch(nil); !failed || !strings.Contains(msg, "wafer.Handle") {
		t.Fatalf("got %q, %v", msg, failed)
	}
}

func TestHandleTwicePanics(t *testing.T) {
	withHandler(t, func(*Request) (*Response, error) { return nil, nil })
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Handle(func(*Request) *Response { return nil })
}

// encodeRequestForTest writes the fields dispatch tests use.
func encodeRequestForTest(req *Request) []byte {
	var out []byte
	str := func(field int, s string) {
		if s != "" {
			out = append(appendVarint(out, uint64(field<<3|wireBytes)), appendString(nil, s)...)
		}
	}
	str(1, req.Method)
	str(5, string(req.Body))
	return out
}
