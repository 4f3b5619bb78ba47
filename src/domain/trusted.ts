/**
 * An instance of a Schema class from fields that are already typed and complete (rows of our own
 * tables, values the domain built): the object `new Class(fields, true)` makes, with the same
 * prototype and the same own fields, without the constructor's copy-and-defaults pass. That pass
 * costs ~1.7 µs an instance against ~0.2 µs here, and a search builds one per hit and per row.
 * `Required` makes every field explicit, defaulted ones included, so nothing is left to a default.
 */
export const trusted = <C extends abstract new (...args: never) => object>(
  Class: C,
  fields: Required<ConstructorParameters<C>[0]>
): InstanceType<C> => Object.assign(Object.create(Class.prototype), fields)
