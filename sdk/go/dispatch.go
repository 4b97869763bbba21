package wafer

import "fmt"

// dispatch runs the registered handler on one encoded request and returns the encoded
// response, or the message for err(...). A panic in the handler becomes an error message
// rather than a trap, so the host reports function_error with the reason.
func dispatch(input []byte) (out []byte, errMsg string, failed bool) {
	defer func() {
		if r := recover(); r != nil {
			out, errMsg, failed = nil, fmt.Sprintf("panic: %v", r), true
		}
	}()
	if handler == nil {
		return nil, "wafer: no handler registered (call wafer.Handle in an init function)", true
	}
	req, err := DecodeRequest(input)
	if err != nil {
		return nil, "wafer: bad request envelope: " + err.Error(), true
	}
	resp, err := handler(req)
	if err != nil {
		return nil, err.Error(), true
	}
	if resp == nil {
		resp = &Response{}
	}
	return EncodeResponse(resp), "", false
}
