/**
 * Load-on-first-use for the SDK's heavy CommonJS dependencies (issue #16, footprint): `@peculiar/x509`
 * (+ reflect-metadata), axios and node-vault took most of the start-up time of `vaultdist status` /
 * `doctor` and of every program importing the SDK index, although most runs never call them.
 *
 * `lazyRequire(id)` returns a stand-in that `require`s the module the first time it is called,
 * constructed or read from; after that every operation goes straight to the real export. It works for
 * a module that is a function (node-vault, axios) and for a class export (`lazyExport`): `new`,
 * static members, `instanceof` and passing the class as a value (`getExtension(Class)`) all reach the
 * real class.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function stand<T extends object>(load: () => T): T {
  let real: T | undefined;
  const get = (): T => (real ??= load());
  // a plain function as the target: `prototype` stays writable, so the get trap may return the real one
  const proxy: T = new Proxy(function lazy() {} as unknown as T, {
    apply: (_t, self, args) => Reflect.apply(get() as unknown as (...a: unknown[]) => unknown, self, args),
    // `new Stand()`: the real class is new.target (a subclass of the stand-in passes its own)
    construct: (_t, args, newTarget) => Reflect.construct(get() as unknown as new (...a: unknown[]) => object, args, newTarget === proxy ? (get() as unknown as new (...a: unknown[]) => object) : newTarget),
    get: (_t, key) => {
      const r = get();
      const v = Reflect.get(r, key, r) as unknown;
      return key === Symbol.hasInstance && typeof v === 'function' ? (v as (x: unknown) => boolean).bind(r) : v;
    },
    has: (_t, key) => Reflect.has(get(), key),
    set: (_t, key, value) => Reflect.set(get(), key, value),
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
  });
  return proxy;
}

/** The module `id`, `require`d when first used. */
export function lazyRequire<T extends object>(id: string): T {
  return stand(() => require(id) as T);
}

/**
 * One export (a class or function) of the module `id`, `require`d (after the modules `first`) when
 * first used. `from`: the `require` to resolve with (another package's `createRequire(import.meta.url)`:
 * a package resolves only its own dependencies).
 */
export function lazyExport<T extends object>(id: string, name: string, first: string[] = [], from: NodeJS.Require = require): T {
  return stand(() => {
    for (const f of first) from(f);
    return (from(id) as Record<string, T>)[name]!;
  });
}
