// Types of generate-fast-check.mjs, for the test that compares its output with the committed file.
export function generateFastCheck(
  schema: unknown,
  predicates: Readonly<Record<string, unknown>>,
  options: {
    readonly predicatesModule: string;
    readonly partsModule: string;
    readonly typeName: string;
    readonly typeModule: string;
  },
): string;
export function fastCheckSource(
  schema: unknown,
  predicates: Readonly<Record<string, unknown>>,
): Promise<string>;
