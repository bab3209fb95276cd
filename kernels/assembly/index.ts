// Entry of the kernels' WebAssembly module: re-exports every kernel.
export * from "./gemm_f32";
export * from "./gemm_fp4";
export * from "./quantize";
export * from "./layers";
export * from "./attention";
export * from "./quant_ops";
export * from "./occ";
export * from "./optim";
export * from "./optim_pkg";
export * from "./qg_ops";
