/* Shared declarations for the libFuzzer targets (fuzz/fuzz_*.c). Each target
 * is linked with the library objects compiled by clang into build-fuzz/. */
#ifndef SVX_FUZZ_H
#define SVX_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
