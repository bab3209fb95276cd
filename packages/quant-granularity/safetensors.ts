/**
 * The safetensors reader and writer moved to `@fp4lab/safetensors`; they are re-exported here so
 * code importing them from `@fp4lab/quant-granularity` keeps working.
 *
 * @module
 */
export {
  DTYPE_SIZES,
  float32Tensor,
  readSafetensors,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsTensor,
  tensorToFloat32,
  writeSafetensors,
} from "@fp4lab/safetensors";
