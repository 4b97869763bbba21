package wafer

import (
	"errors"
	"fmt"
)

// A hand-written protobuf codec for the envelope in abi/proto/wafer/v1/envelope.proto.
// It decodes Request (skipping unknown fields of every wire type, as ABI.md's
// compatibility rules demand) and encodes Response. Two messages do not justify a
// protobuf runtime in every guest.

const (
	wireVarint     = 0
	wireFixed64    = 1
	wireBytes      = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireFixed32    = 5
)

// maxGroupDepth bounds nested groups when skipping them, so hostile input cannot
// exhaust the stack.
const maxGroupDepth = 64

var errTruncated = errors.New("wafer: truncated protobuf message")

type decoder struct {
	buf []byte
	pos int
}

func (d *decoder) done() bool { return d.pos >= len(d.buf) }

func (d *decoder) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.pos >= len(d.buf) {
			return 0, errTruncated
		}
		b := d.buf[d.pos]
		d.pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("wafer: protobuf varint longer than 10 bytes")
}

// tag reads a field key; field number 0 is invalid in protobuf.
func (d *decoder) tag() (field uint64, wire int, err error) {
	k, err := d.varint()
	if err != nil {
		return 0, 0, err
	}
	field, wire = k>>3, int(k&7)
	if field == 0 {
		return 0, 0, errors.New("wafer: protobuf field number 0")
	}
	return field, wire, nil
}

// bytes reads a length-delimited payload. The result aliases the input.
func (d *decoder) bytes() ([]byte, error) {
	n, err := d.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)-d.pos) {
		return nil, errTruncated
	}
	b := d.buf[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *decoder) advance(n int) error {
	if n > len(d.buf)-d.pos {
		return errTruncated
	}
	d.pos += n
	return nil
}

// skip discards the value of a field with the given wire type and number.
func (d *decoder) skip(field uint64, wire int, depth int) error {
	switch wire {
	case wireVarint:
		_, err := d.varint()
		return err
	case wireFixed64:
		return d.advance(8)
	case wireBytes:
		_, err := d.bytes()
		return err
	case wireFixed32:
		return d.advance(4)
	case wireStartGroup:
		if depth >= maxGroupDepth {
			return errors.New("wafer: protobuf groups nested too deeply")
		}
		for {
			f, w, err := d.tag()
			if err != nil {
				return err
			}
			if w == wireEndGroup {
				if f != field {
					return errors.New("wafer: mismatched protobuf end group")
				}
				return nil
			}
			if err := d.skip(f, w, depth+1); err != nil {
				return err
			}
		}
	case wireEndGroup:
		return errors.New("wafer: unexpected protobuf end group")
	default:
		return fmt.Errorf("wafer: invalid protobuf wire type %d", wire)
	}
}

// DecodeRequest parses a protobuf wafer.v1.Request. Body aliases data.
func DecodeRequest(data []byte) (*Request, error) {
	d := decoder{buf: data}
	req := &Request{}
	for !d.done() {
		field, wire, err := d.tag()
		if err != nil {
			return nil, err
		}
		// A known field with an unexpected wire type is treated as unknown, as protobuf's
		// reference implementations do.
		switch {
		case field == 1 && wire == wireBytes:
			req.Method, err = d.str()
		case field == 2 && wire == wireBytes:
			req.Path, err = d.str()
		case field == 3 && wire == wireBytes:
			req.Query, err = d.str()
		case field == 4 && wire == wireBytes:
			var b []byte
			if b, err = d.bytes(); err == nil {
				var h Header
				if h, err = decodeHeader(b); err == nil {
					req.Headers = append(req.Headers, h)
				}
			}
		case field == 5 && wire == wireBytes:
			req.Body, err = d.bytes()
		case field == 6 && wire == wireBytes:
			req.InvocationID, err = d.str()
		case field == 7 && wire == wireVarint:
			req.DeadlineMs, err = d.varint()
		default:
			err = d.skip(field, wire, 0)
		}
		if err != nil {
			return nil, err
		}
	}
	return req, nil
}

func (d *decoder) str() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

func decodeHeader(data []byte) (Header, error) {
	d := decoder{buf: data}
	var h Header
	for !d.done() {
		field, wire, err := d.tag()
		if err != nil {
			return h, err
		}
		switch {
		case field == 1 && wire == wireBytes:
			h.Name, err = d.str()
		case field == 2 && wire == wireBytes:
			h.Value, err = d.str()
		default:
			err = d.skip(field, wire, 0)
		}
		if err != nil {
			return h, err
		}
	}
	return h, nil
}

// EncodeResponse serialises resp as a protobuf wafer.v1.Response. Zero-valued fields are
// left out, as proto3 encoders do.
func EncodeResponse(resp *Response) []byte {
	size := 0
	if resp.Status != 0 {
		size += 1 + varintLen(uint64(resp.Status))
	}
	for i := range resp.Headers {
		n := headerLen(&resp.Headers[i])
		size += 1 + varintLen(uint64(n)) + n
	}
	if len(resp.Body) > 0 {
		size += 1 + varintLen(uint64(len(resp.Body))) + len(resp.Body)
	}

	out := make([]byte, 0, size)
	if resp.Status != 0 {
		out = appendVarint(append(out, 1<<3|wireVarint), uint64(resp.Status))
	}
	for i := range resp.Headers {
		h := &resp.Headers[i]
		out = appendVarint(append(out, 2<<3|wireBytes), uint64(headerLen(h)))
		if h.Name != "" {
			out = appendString(append(out, 1<<3|wireBytes), h.Name)
		}
		if h.Value != "" {
			out = appendString(append(out, 2<<3|wireBytes), h.Value)
		}
	}
	if len(resp.Body) > 0 {
		out = appendVarint(append(out, 3<<3|wireBytes), uint64(len(resp.Body)))
		out = append(out, resp.Body...)
	}
	return out
}

func headerLen(h *Header) int {
	n := 0
	if h.Name != "" {
		n += 1 + varintLen(uint64(len(h.Name))) + len(h.Name)
	}
	if h.Value != "" {
		n += 1 + varintLen(uint64(len(h.Value))) + len(h.Value)
	}
	return n
}

func appendString(out []byte, s string) []byte {
	return append(appendVarint(out, uint64(len(s))), s...)
}

func appendVarint(out []byte, v uint64) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
