#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Heap allocations (malloc, calloc, realloc, the aligned forms) made by any thread of this
/// process while counting is on. Test-only: the test executable that links this target gets
/// these malloc family definitions in place of glibc's, which they forward to.
void allocation_counter_start(void);
/// Stops counting and returns the allocations since `allocation_counter_start`.
long allocation_counter_stop(void);

#endif
