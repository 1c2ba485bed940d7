/** One thing wrong with a connector file, located like a compiler error. */
export interface DefinitionProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted field path, e.g. endpoints.list_folder.params.path.in; empty for the document. */
  readonly path: string;
  readonly message: string;
}

export function formatProblem(p: DefinitionProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}
