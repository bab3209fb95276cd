/**
 * The optimizer file of a checkpoint, `optimizer.safetensors`: AdamW's moments as their storage
 * codes (F8_E4M3 / F16 / BF16 / F32) under `m1.<param>` and `m2.<param>`, the per-tensor scales
 * `m1_scales` / `m2_scales`, and the hyperparameters as JSON in the metadata key `adamw`.
 *
 * @module
 */
import {
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsTensor,
  tensorToFloat32,
  writeSafetensors,
} from "@fp4lab/safetensors";
import type { AdamWCheckpoint, MomentFormat } from "@fp4lab/mixed-optim";
import type { ParamLayout } from "@fp4lab/train";
import { CheckpointError } from "./checkpoint_types.ts";

const MOMENT_DTYPE: Record<MomentFormat, SafetensorsDtype> = {
  f32: "F32",
  FP16: "F16",
  BF16: "BF16",
  E4M3: "F8_E4M3",
};

/**
 * The bytes of `optimizer.safetensors` for an AdamW state.
 *
 * @param layout the model's parameter layout (tensor names and shapes)
 * @param opt the exported AdamW state
 * @returns the file's bytes
 * @example
 * ```ts ignore
 * const bytes = optimizerFileBytes(paramLayout(config), exportAdamWState(opt));
 * ```
 */
export function optimizerFileBytes(layout: ParamLayout, opt: AdamWCheckpoint): Uint8Array {
  const tensors: Record<string, SafetensorsInput> = {};
  layout.params.forEach((p, i) => {
    tensors[`m1.${p.name}`] = {
      dtype: MOMENT_DTYPE[opt.m1Format],
      shape: p.shape,
      data: opt.m1[i],
    };
    tensors[`m2.${p.name}`] = {
      dtype: MOMENT_DTYPE[opt.m2Format],
      shape: p.shape,
      data: opt.m2[i],
    };
  });
  const n = layout.params.length;
  tensors.m1_scales = { dtype: "F32", shape: [n], data: opt.m1Scales };
  tensors.m2_scales = { dtype: "F32", shape: [n], data: opt.m2Scales };
  const hyper = {
    step: opt.step,
    beta1: opt.beta1,
    beta2: opt.beta2,
    eps: opt.eps,
    weightDecay: opt.weightDecay,
    m1Format: opt.m1Format,
    m2Format: opt.m2Format,
    momentScaling: opt.momentScaling,
  };
  return writeSafetensors(tensors, { format: "fp4lab-adamw", adamw: JSON.stringify(hyper) });
}

/**
 * The tensor `name` of a parsed file, checked against the shape the model needs.
 *
 * @param st the parsed file
 * @param name tensor name
 * @param shape the shape it must have
 * @param where the file, for the message
 * @param what who says so (`config.json`, `the model`)
 * @returns the tensor
 * @throws {CheckpointError} when it is missing or has another shape
 * @example
 * ```ts ignore
 * const t = tensorOf(st, "lm_head.weight", [256, 64], "model.safetensors", "config.json");
 * ```
 */
export function tensorOf(
  st: SafetensorsFile,
  name: string,
  shape: readonly number[],
  where: string,
  what: string,
): SafetensorsTensor {
  const t = Object.hasOwn(st.tensors, name) ? st.tensors[name] : undefined;
  if (!t) throw new CheckpointError(`${where}: missing tensor ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(
      `${where}: ${name} has shape [${t.shape}], but ${what} says [${shape}]`,
    );
  }
  return t;
}

function readMoments(
  st: SafetensorsFile,
  layout: ParamLayout,
  prefix: string,
  format: MomentFormat,
  where: string,
): AdamWCheckpoint["m1"] {
  return layout.params.map((p) => {
    const t = tensorOf(st, `${prefix}.${p.name}`, p.shape, where, "the model");
    if (t.dtype !== MOMENT_DTYPE[format]) {
      throw new CheckpointError(
        `${where}: ${prefix}.${p.name} is ${t.dtype}, expected ${MOMENT_DTYPE[format]} (${format})`,
      );
    }
    if (format === "f32") return tensorToFloat32(t);
    if (format === "E4M3") return t.data.slice();
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const out = new Uint16Array(p.size);
    for (let i = 0; i < p.size; i++) out[i] = view.getUint16(2 * i, true);
    return out;
  });
}

/**
 * The AdamW state held by a parsed `optimizer.safetensors`, every tensor checked against the
 * model's layout and the hyperparameters against their types.
 *
 * @param st the parsed file
 * @param layout the model's parameter layout
 * @param where the file, for messages
 * @returns the state for `importAdamWState`
 * @throws {CheckpointError} naming the first thing missing or wrong
 * @example
 * ```ts ignore
 * const opt = readOptimizerFile(readSafetensors(bytes), layout, "optimizer.safetensors");
 * ```
 */
export function readOptimizerFile(
  st: SafetensorsFile,
  layout: ParamLayout,
  where: string,
): AdamWCheckpoint {
  let hyper: Record<string, unknown>;
  try {
    hyper = JSON.parse(st.metadata.adamw ?? "");
  } catch {
    throw new CheckpointError(`${where}: no AdamW hyperparameters in its metadata`);
  }
  if (hyper === null || typeof hyper !== "object") {
    throw new CheckpointError(`${where}: the AdamW hyperparameters must be a JSON object`);
  }
  for (const key of ["m1Format", "m2Format"]) {
    if (typeof hyper[key] !== "string" || !Object.hasOwn(MOMENT_DTYPE, hyper[key] as string)) {
      throw new CheckpointError(
        `${where}: ${key} must be one of ${Object.keys(MOMENT_DTYPE).join(", ")}, got ${
          JSON.stringify(hyper[key])
        }`,
      );
    }
  }
  for (const key of ["step", "beta1", "beta2", "eps"]) {
    if (typeof hyper[key] !== "number" || !Number.isFinite(hyper[key])) {
      throw new CheckpointError(
        `${where}: ${key} must be a number, got ${JSON.stringify(hyper[key])}`,
      );
    }
  }
  const n = layout.params.length;
  const m1Format = hyper.m1Format as MomentFormat, m2Format = hyper.m2Format as MomentFormat;
  return {
    ...(hyper as unknown as Omit<AdamWCheckpoint, "m1" | "m2" | "m1Scales" | "m2Scales">),
    m1: readMoments(st, layout, "m1", m1Format, where),
    m2: readMoments(st, layout, "m2", m2Format, where),
    m1Scales: tensorToFloat32(tensorOf(st, "m1_scales", [n], where, "the model")),
    m2Scales: tensorToFloat32(tensorOf(st, "m2_scales", [n], where, "the model")),
  };
}
