// Entry of the kernels' WebAssembly module: re-exports every kernel.
export * from "./gemm_f32";
