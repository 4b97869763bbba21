//go:build wasip1

package wafer

// Memory for the WASI preview1 adapter.
//
// A Go wasip1 module becomes a component by way of the preview1 -> WASI 0.2 adapter. On its
// first WASI call the adapter allocates its state and its stack (64 KiB each, align 8),
// through the main module's `cabi_realloc_adapter` export if there is one, else through
// `cabi_realloc`. That first call comes from inside `_initialize`, while Go's runtime is
// still starting: a //go:wasmexport function called then traps ("wasmexport function
// called before runtime initialization"), and growing memory behind Go's back corrupts its
// heap (Go assumes it owns every page past its data). So the adapter gets this static
// arena instead: build.mjs finds adapterArenaRecord by its magic words in the data segments
// and adds a small hand-written `cabi_realloc_adapter` that bump-allocates from the arena.
// The arena is a pointer-free array in BSS: the GC never moves, frees or reads it.

const adapterArenaSize = 256 << 10

var adapterArena [adapterArenaSize]byte

// adapterArenaRecord is laid out statically by the linker (no init code runs), so
// build.mjs can read the arena's address out of the module's data. Keep in sync with
// ARENA_MAGIC in build.mjs.
var adapterArenaRecord = struct {
	magic [2]uint64
	base  *[adapterArenaSize]byte
	size  uint64
}{
	magic: [2]uint64{0x64612d7265666177, 0x31762d7265747061}, // the bytes "wafer-adapter-v1"
	base:  &adapterArena,
	size:  adapterArenaSize,
}

// keepAdapterArena makes the record reachable, so the linker keeps it.
func keepAdapterArena() bool { return adapterArenaRecord.size != 0 }
