/**
 * Layout of the control block at the start of the shared memory, shared by the pool and the
 * workers (`_worker_source.ts` repeats these numbers).
 *
 * @module
 */

/** Int32 index: job generation, bumped for every job posted to the workers. */
export const GEN = 0;
/** Int32 index: 1 while a job accepts helpers. */
export const OPEN = 1;
/** Int32 index: next unclaimed task index. */
export const NEXT = 2;
/** Int32 index: number of tasks of the open job. */
export const TOTAL = 3;
/** Int32 index: workers currently inside a job. */
export const ACTIVE = 4;
/** Int32 index: set to 1 when a worker's kernel call threw. */
export const ERROR = 5;
/** Int32 index: kernel number (index into the kernel name list). */
export const KERNEL = 6;
/** Int32 index: number of f64 arguments. */
export const NARGS = 7;
/** Int32 index: threads in use; workers with a higher id stay out of jobs. */
export const THREADS = 8;
/** Int32 index of worker 1's state word (worker i at STATE0 + i): 0 starting or
 * none, 1 alive, 2 exited, 3 asked to leave. */
export const STATE0 = 16;
/** Byte offset of the f64 job arguments. */
export const ARGS_BYTE = 512;
/** Most f64 arguments a job can carry. */
export const MAX_ARGS = 16;
/** Most threads (main included) the pool runs. */
export const MAX_THREADS = 64;
/**
 * Byte offset of the per-thread scratch pointers: one Int32 per thread id, written by the pool;
 * a worker reads its own when it joins a job, so scratch can grow between jobs. They sit after
 * the job arguments and below byte 1024, where the module's static data (AssemblyScript's math
 * tables) starts: every instantiation, a worker's too, rewrites that data.
 */
export const SCRATCH_PTRS_BYTE = 640;
/** Byte offset where the heap starts (the first 64 KiB are the control block). */
export const HEAP_BASE = 65536;
/** Scratch bytes per thread, at least (kernels that need more ask {@link HEAP_BASE}'s allocator). */
export const SCRATCH_BYTES = 1 << 20;
