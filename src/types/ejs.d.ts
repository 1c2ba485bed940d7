// The part of ejs (v7, which ships no types) that connectr uses.
declare module 'ejs' {
  export interface Options {
    filename?: string;
    strict?: boolean;
    destructuredLocals?: string[];
    localsName?: string;
    escape?: (text: unknown) => string;
    compileDebug?: boolean;
    async?: false;
  }
  export type TemplateFunction = (data: Record<string, unknown>) => string;
  export function compile(template: string, options?: Options): TemplateFunction;
  const ejs: { compile: typeof compile };
  export default ejs;
}
