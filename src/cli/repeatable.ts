/** commander's argument parser for a flag that may be given again: every value, in order. */
export const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];
