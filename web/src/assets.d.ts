/** Files the build bundles as text (scripts/build-web.mjs: the `.yaml` loader is `text`). */
declare module '*.yaml' {
  const text: string;
  export default text;
}
declare module '*.css';
