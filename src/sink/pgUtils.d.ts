/** node-postgres's value serializer (pg/lib/utils.js, exported by its package but not declared in @types/pg) */
declare module "pg/lib/utils.js" {
  const utils: { readonly prepareValue: (value: unknown) => unknown }
  export default utils
}
