// A tiny runtime schema library: each schema both validates unknown data and gives its TypeScript type, so every
// message type is declared once and checked on arrival on both sides of the host↔webview boundary.
export interface Schema<T> {
  readonly describe: string;
  check(v: unknown, path: string): string | undefined;
  readonly _type?: T;
}
export type Infer<S> = S extends Schema<infer T> ? T : never;

const make = <T>(describe: string, check: (v: unknown, path: string) => string | undefined): Schema<T> => ({ describe, check });

export const str = make<string>('string', (v, p) => (typeof v === 'string' ? undefined : `${p} is not a string`));
export const num = make<number>('number', (v, p) =>
  typeof v === 'number' && Number.isFinite(v) ? undefined : `${p} is not a finite number`,
);
export const bool = make<boolean>('boolean', (v, p) => (typeof v === 'boolean' ? undefined : `${p} is not a boolean`));

export function literal<L extends string>(value: L): Schema<L> {
  return make<L>(JSON.stringify(value), (v, p) => (v === value ? undefined : `${p} is not ${JSON.stringify(value)}`));
}

export function nullable<T>(s: Schema<T>): Schema<T | null> {
  return make<T | null>(`${s.describe} | null`, (v, p) => (v === null ? undefined : s.check(v, p)));
}

export function optional<T>(s: Schema<T>): Schema<T | undefined> {
  return make<T | undefined>(`${s.describe}?`, (v, p) => (v === undefined ? undefined : s.check(v, p)));
}

export function arr<T>(s: Schema<T>): Schema<T[]> {
  return make<T[]>(`${s.describe}[]`, (v, p) => {
    if (!Array.isArray(v)) return `${p} is not an array`;
    for (let i = 0; i < v.length; i++) {
      const e = s.check(v[i], `${p}[${i}]`);
      if (e) return e;
    }
    return undefined;
  });
}

type Shape = Record<string, Schema<unknown>>;
type ObjOf<S extends Shape> = { [K in keyof S as undefined extends Infer<S[K]> ? never : K]: Infer<S[K]> } & {
  [K in keyof S as undefined extends Infer<S[K]> ? K : never]?: Infer<S[K]>;
};

export function obj<S extends Shape>(shape: S): Schema<ObjOf<S>> {
  return make<ObjOf<S>>('object', (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${p} is not an object`;
    for (const [k, s] of Object.entries(shape)) {
      const e = s.check((v as Record<string, unknown>)[k], `${p}.${k}`);
      if (e) return e;
    }
    return undefined;
  });
}

/** A union of objects told apart by their `type` field. */
export function tagged<S extends Record<string, Schema<unknown>>>(
  variants: S,
): Schema<{ [K in keyof S]: Infer<S[K]> & { type: K } }[keyof S]> {
  return make('message', (v, p) => {
    const t = (v as { type?: unknown } | null)?.type;
    if (typeof t !== 'string' || !(t in variants)) return `${p}.type is not one of ${Object.keys(variants).join(', ')}`;
    return variants[t]!.check(v, p);
  });
}

export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

export function validate<T>(s: Schema<T>, v: unknown, name = 'message'): Validation<T> {
  const error = s.check(v, name);
  return error ? { ok: false, error } : { ok: true, value: v as T };
}

/** A value that matches one of the schemas (the first error is reported when none does). */
export function union<T extends Schema<unknown>[]>(...schemas: T): Schema<Infer<T[number]>> {
  return make(schemas.map((s) => s.describe).join(' | '), (v, p) => {
    const errors = schemas.map((s) => s.check(v, p));
    return errors.includes(undefined) ? undefined : errors[0];
  });
}
