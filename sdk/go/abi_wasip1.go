//go:build wasip1

package wafer

// The component model's canonical ABI for the one export of world
// wafer:function/handler@1.0.0, written by hand:
//
//	handle: func(request: list<u8>) -> result<list<u8>, string>
//
// lowers to these core exports (what wit-component's `canon lift` looks for):
//
//	cabi_realloc(old_ptr, old_size, align, new_size: i32) -> i32
//	handle(ptr, len: i32) -> i32            ;; pointer to the 12-byte result area
//	cabi_post_handle(ret: i32)              ;; the host has copied the result out
//
// Go's garbage collector does not move objects but frees unreachable ones, and it may run
// at any allocation. Every buffer whose address the host holds is therefore kept in a
// package variable until the host is done with it: blocks from cabi_realloc until handle
// consumes them, and the result until cabi_post_handle.
//
// The host calls cabi_realloc while it lowers the arguments, when the component model
// forbids calling imports (wasmtime traps: "cannot leave component instance"). Go's
// allocator reads the clocks (WASI imports) when an allocation starts a GC cycle, assists
// one, or scavenges. So the collector runs only inside handle: it is switched off when
// handle returns (which first finishes any cycle in progress) and back on when the next
// call starts, and cabi_realloc's allocations cannot reach those paths.

import (
	"runtime/debug"
	"unsafe"
)

// gcPercent is the collector setting during calls: GOGC's, 100 by default.
var gcPercent = debug.SetGCPercent(-1)

// resultArea is result<list<u8>, string>: discriminant (u8) at +0, then ptr at +4 and
// len at +8 for both cases. A [3]uint32 has the required 4-byte alignment.
var resultArea [3]uint32

var (
	// allocations holds every block handed out by cabi_realloc and not yet consumed.
	allocations [][]byte
	// returned keeps the result payload alive until cabi_post_handle.
	returned    []byte
	returnedErr string
)

// zeroSized gives an in-bounds address, aligned for any canonical ABI type, for
// zero-byte blocks and empty results; nothing is ever read from or written to it.
var zeroSized [1]uint64

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	if align == 0 || align&(align-1) != 0 {
		panic("wafer: cabi_realloc with invalid alignment")
	}
	if newSize == 0 {
		return addrOf(&zeroSized)
	}
	// Over-allocate so the block can be aligned by hand: Go's tiny allocator only
	// guarantees byte alignment for small pointer-free objects.
	raw := make([]byte, int(newSize)+int(align)-1)
	off := int((align - addrOf(&raw[0])%align) % align)
	block := raw[off : off+int(newSize) : off+int(newSize)]
	if oldPtr != 0 && oldSize != 0 {
		old := findAllocation(oldPtr)
		if old == nil {
			panic("wafer: cabi_realloc of a block it did not allocate")
		}
		copy(block, old[:min(int(oldSize), len(old))])
	}
	allocations = append(allocations, block)
	return addrOf(&block[0])
}

//go:wasmexport handle
func handle(ptr, length uint32) uint32 {
	// The canonical ABI passes a non-empty list only in memory it got from cabi_realloc.
	var input []byte
	var out []byte
	var msg string
	failed := false
	if !keepAdapterArena() {
		msg, failed = "wafer: adapter arena missing", true
	} else if length > 0 {
		if input = findAllocation(ptr); uint32(len(input)) < length {
			msg, failed = "wafer: request not in a block from cabi_realloc", true
		} else {
			input = input[:length:length]
		}
	}
	// The request lives on through input (and the Request's Body, which aliases it);
	// drop the references to every block the host allocated for this call.
	clear(allocations)
	allocations = allocations[:0]

	if !failed {
		debug.SetGCPercent(gcPercent)
		out, msg, failed = dispatch(input)
		debug.SetGCPercent(-1)
	}
	if failed {
		returned, returnedErr = nil, msg
		resultArea[0] = 1
		resultArea[1] = addrOfString(returnedErr)
		resultArea[2] = uint32(len(returnedErr))
	} else {
		returned, returnedErr = out, ""
		resultArea[0] = 0
		resultArea[1] = addrOfBytes(returned)
		resultArea[2] = uint32(len(returned))
	}
	return addrOf(&resultArea)
}

//go:wasmexport cabi_post_handle
func cabiPostHandle(uint32) {
	returned, returnedErr = nil, ""
}

func findAllocation(ptr uint32) []byte {
	for _, b := range allocations {
		if len(b) > 0 && addrOf(&b[0]) == ptr {
			return b
		}
	}
	return nil
}

func addrOf[T any](p *T) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

func addrOfBytes(b []byte) uint32 {
	if len(b) == 0 {
		return addrOf(&zeroSized)
	}
	return addrOf(&b[0])
}

func addrOfString(s string) uint32 {
	if len(s) == 0 {
		return addrOf(&zeroSized)
	}
	return addrOf(unsafe.StringData(s))
}
